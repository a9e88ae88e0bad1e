#!/usr/bin/env bash
# Record what `packer fmt` (Packer 1.6.6, hclwrite.Format) makes of every corpus template, so that
# tests/fmt.rs can check `kiln::format::format` against it byte for byte.
#
# Output, under tests/fixtures/fmt/corpus/:
#   <corpus path>   packer's output, stored only when it differs from the input (keeps the repo small)
#   UNCHANGED.txt   corpus paths packer left as they were
#   REFUSED.txt     corpus paths packer would not format, a tab, and packer's message
# and, for the hand-written cases in tests/fixtures/fmt/cases/*.pkr.hcl, packer's output of each in
# tests/fixtures/fmt/cases/expected/ (always stored, since the cases are meant to change).
#
# Packer 1.6.6 has no stdin mode and rewrites files in place, so each file is formatted in a copy.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
corpus="$(cd "$here/../../shared/corpus" && pwd)"
out="$repo/tests/fixtures/fmt/corpus"
packer="${PACKER:-packer}"

command -v "$packer" >/dev/null || { echo "capture-fmt-fixtures: $packer not found" >&2; exit 1; }
"$packer" version

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# Packer phones home for version checks unless told not to.
export CHECKPOINT_DISABLE=1

rm -rf "$out"
mkdir -p "$out"
: >"$out/UNCHANGED.txt"
: >"$out/REFUSED.txt"

changed=0
unchanged=0
refused=0
while IFS= read -r rel; do
    # packer fmt only considers *.pkr.hcl and *.pkrvars.hcl; give anything else a name it accepts.
    name="$rel"
    case "$name" in
        *.pkr.hcl | *.pkrvars.hcl) ;;
        *) name="$name.pkr.hcl" ;;
    esac
    copy="$scratch/$name"
    mkdir -p "$(dirname "$copy")"
    cp "$corpus/$rel" "$copy"
    # Packer prints the names it changed and its errors on stdout alike; the exit status tells which.
    if message="$(cd "$scratch" && "$packer" fmt "$name" 2>&1)"; then
        if cmp -s "$corpus/$rel" "$copy"; then
            echo "$rel" >>"$out/UNCHANGED.txt"
            unchanged=$((unchanged + 1))
        else
            mkdir -p "$(dirname "$out/$rel")"
            cp "$copy" "$out/$rel"
            changed=$((changed + 1))
        fi
    else
        # One line per file: squeeze packer's multi-line message.
        message="$(printf '%s' "$message" | tr '\n' ' ' | tr -s ' ' | sed 's/^ //; s/ $//')"
        [ -n "$message" ] || message="(no message)"
        printf '%s\t%s\n' "$rel" "$message" >>"$out/REFUSED.txt"
        refused=$((refused + 1))
    fi
done < <(cd "$corpus" && find . -type f -name '*.hcl' | sed 's|^\./||' | LC_ALL=C sort)

echo "capture-fmt-fixtures: corpus: $changed reformatted, $unchanged unchanged, $refused refused"

cases="$repo/tests/fixtures/fmt/cases"
rm -rf "$cases/expected"
mkdir -p "$cases/expected" "$scratch/cases"
for case in "$cases"/*.pkr.hcl; do
    name="$(basename "$case")"
    cp "$case" "$scratch/cases/$name"
    if ! (cd "$scratch/cases" && "$packer" fmt "$name" >/dev/null); then
        echo "capture-fmt-fixtures: packer refused case $name" >&2
        exit 1
    fi
    cp "$scratch/cases/$name" "$cases/expected/$name"
done
echo "capture-fmt-fixtures: cases: $(ls "$cases/expected" | wc -l) captured"
