#!/usr/bin/env python3
"""Capture what the real `packer console` prints for each HCL expression.

Reads tests/fixtures/console/expressions.txt and writes
tests/fixtures/console/expected.json, so kiln's evaluator can be compared with
Packer without Packer installed. See tests/fixtures/console/README.md.

Each expression is evaluated twice, one packer process each, with the working
directory at the repository root and a fixed environment:

    echo 'jsonencode(EXPR)' | packer console tests/fixtures/console/context.pkr.hcl
    echo 'EXPR'             | packer console tests/fixtures/console/context.pkr.hcl

Usage: scripts/capture-console-fixtures.py [--packer PATH] [--jobs N] [--check]
  --check  capture, compare with the existing expected.json, write nothing;
           exit 1 when a deterministic entry differs.

Standard library only.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE_DIR = os.path.join("tests", "fixtures", "console")
TEMPLATE = os.path.join(FIXTURE_DIR, "context.pkr.hcl")
EXPRESSIONS = os.path.join(FIXTURE_DIR, "expressions.txt")
EXPECTED = os.path.join(FIXTURE_DIR, "expected.json")

# Functions of Packer's documented set. A call to one of these that this packer
# reports as unknown is left out of expected.json (it belongs in
# expected-docs.json); an unknown function outside this set is a deliberate
# error case and is kept.
PACKER_FUNCTIONS = frozenset(
    """
    abs abspath alltrue anytrue aws_secretsmanager base64decode base64encode
    basename bcrypt can ceil chomp chunklist cidrcontains cidrhost cidrnetmask
    cidrsubnet cidrsubnets coalesce coalescelist compact concat consul_key
    contains convert csvdecode dirname distinct element endswith env file
    fileexists fileset flatten floor format formatdate formatlist indent index
    issensitive join jsondecode jsonencode keys legacy_isotime legacy_strftime
    length log lookup lower matchkeys max md5 merge min nonsensitive parseint
    pathexpand pow range regex regexall regex_replace replace reverse rsadecrypt
    sensitive setintersection setproduct setsubtract setunion sha1 sha256 sha512
    signum slice sort split startswith strcontains strrev substr sum
    templatefile textdecodebase64 textencodebase64 timeadd timecmp timestamp
    title tobool tolist tomap tonumber toset tostring transpose trim trimprefix
    trimspace trimsuffix try upper urldecode urlencode uuid uuidv4 uuidv5
    values vault yamldecode yamlencode zipmap
    """.split()
)

UNKNOWN_FUNCTION = re.compile(r'There is no function named "([^"]+)"')
TAG_SEPARATOR = " ## "
SHAPE_MARKER = " !shape "


def parse_expressions(path):
    """Yield (line number, expression, category, shape) for each expression line."""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            expr, category, shape = line, None, None
            if TAG_SEPARATOR in line:
                expr, tag = line.rsplit(TAG_SEPARATOR, 1)
                if SHAPE_MARKER in " " + tag:
                    category, shape = (" " + tag).split(SHAPE_MARKER, 1)
                    category = category.strip() or None
                    shape = shape.strip()
                else:
                    category = tag.strip()
            yield number, expr.strip(), category, shape


def fixed_env():
    """The environment packer runs in: from the caller only PATH and HOME."""
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "TZ": "UTC",
        "LC_ALL": "C.UTF-8",
        "CHECKPOINT_DISABLE": "1",
        # Read by env() in context.pkr.hcl's variable defaults.
        "KILN_CONSOLE_FIXTURE": "from-the-environment",
    }


def run_console(packer, line, env):
    """Feed one line to a fresh `packer console TEMPLATE`; return (rc, stdout, stderr)."""
    proc = subprocess.run(
        [packer, "console", TEMPLATE],
        input=(line + "\n").encode("utf-8"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    return (
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


def failed(rc, stdout):
    """packer console prints diagnostics on stdout and exits 1."""
    return rc != 0 or stdout.startswith("Error: ")


def error_text(stdout, stderr):
    text = stdout.strip()
    if stderr.strip():
        text = (text + "\n" + stderr.strip()).strip()
    return text


def strip_one_newline(text):
    return text[:-1] if text.endswith("\n") else text


def capture(packer, source, env, item):
    number, expr, category, shape = item
    rc, out, err = run_console(packer, expr, env)
    json_rc, json_out, json_err = run_console(packer, "jsonencode(" + expr + ")", env)
    is_error = failed(rc, out)
    json_failed = failed(json_rc, json_out)
    entry = {
        "expr": expr,
        "category": category,
        "json": None if json_failed else json_out.strip(),
        "raw": strip_one_newline(out),
        "error": is_error,
        "error_text": error_text(out, err) if is_error else None,
        "exit_code": rc,
        "json_error_text": error_text(json_out, json_err) if json_failed else None,
        "nondeterministic": shape is not None,
        "shape": shape,
        "source": source,
    }
    notes = []
    if err.strip() and not is_error:
        notes.append("stderr on success: " + err.strip())
    if (rc != 0) != out.startswith("Error: "):
        notes.append("exit code %d disagrees with stdout" % rc)
    unknown = UNKNOWN_FUNCTION.findall(out) if is_error else []
    skip = any(name in PACKER_FUNCTIONS for name in unknown)
    if shape is not None and not re.fullmatch(shape, entry["raw"]):
        notes.append("raw %r does not match shape %r" % (entry["raw"], shape))
    return number, entry, skip, notes


def packer_version(packer):
    out = subprocess.run(
        [packer, "version"], stdout=subprocess.PIPE, env=fixed_env(), check=True
    ).stdout.decode()
    match = re.search(r"Packer v(\S+)", out)
    if not match:
        sys.exit("cannot read the version from `%s version`: %r" % (packer, out))
    return match.group(1)


def compare(old_entries, new_entries):
    """Return descriptions of deterministic entries whose capture changed."""
    old = {e["expr"]: e for e in old_entries}
    changes = []
    for entry in new_entries:
        before = old.get(entry["expr"])
        if before is None:
            changes.append("new: " + entry["expr"])
            continue
        if entry["nondeterministic"]:
            continue
        for key in ("json", "raw", "error", "error_text"):
            if before.get(key) != entry[key]:
                changes.append("%s: %s differs" % (entry["expr"], key))
    return changes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packer", default=os.environ.get("PACKER", "packer"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()

    packer = shutil.which(args.packer) or args.packer
    version = packer_version(packer)
    if version != "1.6.6":
        print("warning: expected packer 1.6.6, found %s" % version, file=sys.stderr)
    source = "packer-" + version
    env = fixed_env()

    items = list(parse_expressions(os.path.join(ROOT, EXPRESSIONS)))
    seen = {}
    for number, expr, _, _ in items:
        if expr in seen:
            print("warning: line %d repeats line %d: %s" % (number, seen[expr], expr),
                  file=sys.stderr)
        seen.setdefault(expr, number)

    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda item: capture(packer, source, env, item), items))

    entries, skipped = [], []
    for number, entry, skip, notes in results:
        for note in notes:
            print("line %d: %s" % (number, note), file=sys.stderr)
        if skip:
            skipped.append(entry["expr"])
        else:
            entries.append(entry)

    elapsed = time.time() - started
    print("%d expressions, %d captured, %d skipped (unknown to packer %s), %.1fs"
          % (len(items), len(entries), len(skipped), version, elapsed), file=sys.stderr)
    for expr in skipped:
        print("  skipped: " + expr, file=sys.stderr)

    path = os.path.join(ROOT, EXPECTED)
    if args.check:
        with open(path, encoding="utf-8") as f:
            changes = compare(json.load(f), entries)
        for change in changes:
            print("changed: " + change, file=sys.stderr)
        return 1 if changes else 0

    with open(path, "w", encoding="utf-8") as f:
        json.dump(entries, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print("wrote " + EXPECTED, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
