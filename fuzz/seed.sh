#!/bin/sh
# Seed the fuzzers: the shared corpus of real Packer templates for `parse` and `validate`, and
# for `console` one expression per line of console-seeds.txt.
# Usage: fuzz/seed.sh   (from anywhere; writes fuzz/corpus/, which git ignores)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpus="$here/../../shared/corpus"
if [ ! -d "$corpus" ]; then
    echo "no corpus at $corpus" >&2
    exit 1
fi
mkdir -p "$here/corpus/parse" "$here/corpus/validate" "$here/corpus/console"
count=0
# Flatten repo/file.hcl into repo__file.hcl so names stay unique.
for file in "$corpus"/*/*.hcl; do
    [ -f "$file" ] || continue
    name="$(basename "$(dirname "$file")")__$(basename "$file")"
    cp "$file" "$here/corpus/parse/$name"
    cp "$file" "$here/corpus/validate/$name"
    count=$((count + 1))
done
echo "copied $count templates into corpus/parse and corpus/validate"
n=0
while IFS= read -r line; do
    [ -n "$line" ] || continue
    n=$((n + 1))
    printf '%s\n' "$line" > "$here/corpus/console/seed-$n"
done < "$here/console-seeds.txt"
echo "wrote $n expressions into corpus/console"
