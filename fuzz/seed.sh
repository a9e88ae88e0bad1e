#!/bin/sh
# Seed the fuzzer with the shared corpus of real Packer templates.
# Usage: fuzz/seed.sh   (from anywhere; writes fuzz/corpus/parse/, which git ignores)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpus="$here/../../shared/corpus"
out="$here/corpus/parse"
if [ ! -d "$corpus" ]; then
    echo "no corpus at $corpus" >&2
    exit 1
fi
mkdir -p "$out"
count=0
# Flatten repo/file.hcl into repo__file.hcl so names stay unique.
for file in "$corpus"/*/*.hcl; do
    [ -f "$file" ] || continue
    repo=$(basename "$(dirname "$file")")
    cp "$file" "$out/${repo}__$(basename "$file")"
    count=$((count + 1))
done
echo "copied $count files into $out"
