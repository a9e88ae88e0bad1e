#!/usr/bin/env python3
"""Run `kiln validate` on every template directory of ../shared/corpus and write the table.

The corpus stores files flattened (`repo/dir__sub__file.pkr.hcl`); INDEX.tsv gives each file's
original path. Files are regrouped into their original directories (as Packer would load them) in
a scratch folder, and `kiln validate DIR` runs on each. The result goes to docs/corpus-validate.md.

usage: scripts/corpus-validate.py [path/to/kiln]   (default: target/release/kiln)
"""
import collections, csv, os, re, shutil, subprocess, sys, tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
corpus = os.path.join(root, "..", "shared", "corpus")
kiln = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "target", "release", "kiln")

groups = collections.defaultdict(list)
with open(os.path.join(corpus, "INDEX.tsv")) as f:
    for row in csv.DictReader(f, delimiter="\t"):
        groups[(row["repo"], os.path.dirname(row["path"]))].append((row["file"], os.path.basename(row["path"])))

ANSI = re.compile(r"\x1b\[[0-9;]*m")
rows = []
with tempfile.TemporaryDirectory() as scratch:
    for i, ((repo, directory), files) in enumerate(sorted(groups.items())):
        d = os.path.join(scratch, str(i))
        os.makedirs(d)
        for stored, original in files:
            shutil.copy(os.path.join(corpus, stored), os.path.join(d, original))
        templates = [o for _, o in files if o.endswith(".pkr.hcl") or o.endswith(".pkr.json")]
        if not templates:
            continue  # variable files only
        out = subprocess.run([kiln, "validate", "-color=false", d], capture_output=True, text=True,
                             env={"PATH": os.environ.get("PATH", ""), "NO_COLOR": "1"}, timeout=60)
        first = ""
        if out.returncode != 0:
            lines = [l for l in ANSI.sub("", out.stderr).splitlines() if l.startswith("error")]
            first = lines[0][len("error: "):] if lines else out.stderr.strip().splitlines()[-1]
            first = first.replace(scratch, "").replace("|", "\\|")
        rows.append((repo, directory or ".", len(templates), out.returncode == 0, first))

def kind(msg):
    if not msg:
        return "valid"
    if msg.startswith("kiln has no "):
        return "plugin kiln lacks"
    if "has no value" in msg:
        return "variable without a value"
    return "other"

ok = sum(1 for r in rows if r[3])
by_kind = collections.Counter(kind(r[4]) for r in rows)
out_path = os.path.join(root, "docs", "corpus-validate.md")
os.makedirs(os.path.dirname(out_path), exist_ok=True)
with open(out_path, "w") as f:
    f.write("# `kiln validate` on the corpus\n\n")
    f.write("Regenerate with `cargo build --release && scripts/corpus-validate.py`. Each row is one template\n")
    f.write("directory of `../shared/corpus` (files regrouped by INDEX.tsv), validated with no `-var`.\n\n")
    f.write(f"**{ok} of {len(rows)} directories validate.** ")
    f.write(", ".join(f"{k}: {v}" for k, v in sorted(by_kind.items())) + ".\n\n")
    f.write("| repository | directory | templates | result | first diagnostic |\n| --- | --- | --- | --- | --- |\n")
    for repo, directory, n, valid, first in rows:
        f.write(f"| {repo} | {directory} | {n} | {'valid' if valid else 'invalid'} | {first} |\n")
print(f"{ok}/{len(rows)} valid; " + ", ".join(f"{k}: {v}" for k, v in sorted(by_kind.items())))
print(f"wrote {out_path}")
