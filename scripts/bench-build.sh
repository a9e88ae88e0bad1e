#!/usr/bin/env bash
# Wall-clock benchmark of a local build, kiln against Packer, on the same machine in the same run.
#
# The template (generated in a temp dir): N `null` sources (communicator = "none"; N=200 unless
# N is set), one build using all of them, one shell-local provisioner per source that runs
#   sleep 1, then touches "$KILN_BENCH_MARKERS/<source name>".
# The marker files prove the work really happened: a run only counts if the tool exited 0 and
# exactly N markers exist afterwards (and it took at least the minimum the sleeps allow).
#
# Cases:
#   kiln   build -parallel-builds=0  T      every source at once     (>= 1 s)
#   packer build -parallel-builds=0  T
#   kiln   build -parallel-builds=10 T      ten at a time            (>= N/10 s)
#   packer build -parallel-builds=10 T      only with --full         (~20+ s for N=200)
#
# Usage: scripts/bench-build.sh [--full] [--keep]
#   --full   also time packer with -parallel-builds=10
#   --keep   keep the temp dir (template, logs) and print its path
# Environment: KILN (default target/release/kiln, relative to the repo root), PACKER (default
# packer), N (sources, default 200), RUNS (runs per case, default 1; the median is reported).
# Timing uses `date +%s.%N` around each run; hyperfine is not needed. A tool that fails is
# reported (exit code, marker count, last lines of its log) and the script carries on.
# Prints a markdown table: case | kiln s | packer s | ratio (kiln / packer).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"

full=0
keep=0
for arg in "$@"; do
    case "$arg" in
        --full) full=1 ;;
        --keep) keep=1 ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench-build: unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done

N="${N:-200}"
RUNS="${RUNS:-1}"
kiln="${KILN:-target/release/kiln}"
case "$kiln" in /*) ;; */*) kiln="$repo/$kiln" ;; *) kiln="$(command -v "$kiln" || echo "$kiln")" ;; esac
packer="${PACKER:-packer}"
packer="$(command -v "$packer" || echo "$packer")"

export CHECKPOINT_DISABLE=1
unset PACKER_LOG PACKER_LOG_PATH || true

work="$(mktemp -d)"
if [ "$keep" = 1 ]; then
    trap 'echo "bench-build: kept $work" >&2' EXIT
else
    trap 'rm -rf "$work"' EXIT
fi

# --- the template -----------------------------------------------------------------------------
t="$work/bench.pkr.hcl"
{
    for i in $(seq 1 "$N"); do
        printf 'source "null" "s%03d" {\n  communicator = "none"\n}\n\n' "$i"
    done
    echo 'build {'
    echo '  sources = ['
    for i in $(seq 1 "$N"); do printf '    "source.null.s%03d",\n' "$i"; done
    echo '  ]'
    echo
    echo '  provisioner "shell-local" {'
    echo '    inline = ["sleep 1", "touch \"$KILN_BENCH_MARKERS/${source.name}\""]'
    echo '  }'
    echo '}'
} >"$t"

# --- running one case -------------------------------------------------------------------------
# measure TOOL_LABEL PARALLEL MIN_SECONDS CMD... : sets $result to seconds (median of RUNS) or to
# a short failure description; logs go to $work/<label>-p<parallel>-<run>.log
measure() {
    local label="$1" par="$2" min="$3"; shift 3
    local times=() run rc start end secs markers log
    if [ ! -x "$1" ]; then
        result="missing ($1)"
        echo "  $label -parallel-builds=$par: $result" >&2
        return
    fi
    for run in $(seq 1 "$RUNS"); do
        log="$work/$label-p$par-$run.log"
        export KILN_BENCH_MARKERS="$work/markers-$label-p$par-$run"
        rm -rf "$KILN_BENCH_MARKERS"
        mkdir -p "$KILN_BENCH_MARKERS"
        rc=0
        start="$(date +%s.%N)"
        (cd "$work" && "$@" -parallel-builds="$par" bench.pkr.hcl) >"$log" 2>&1 || rc=$?
        end="$(date +%s.%N)"
        secs="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')"
        markers="$(find "$KILN_BENCH_MARKERS" -type f | wc -l)"
        if [ "$rc" != 0 ] || [ "$markers" != "$N" ]; then
            result="failed (exit $rc, $markers/$N ran)"
            {
                echo "  $label -parallel-builds=$par run $run: FAILED: exit $rc after ${secs}s, $markers of $N provisioners ran. Last lines of $log:"
                tail -n 8 "$log" | sed 's/^/      | /'
            } >&2
            return
        fi
        if awk -v s="$secs" -v m="$min" 'BEGIN { exit !(s < m) }'; then
            result="suspect (${secs}s < ${min}s)"
            echo "  $label -parallel-builds=$par run $run: SUSPECT: ${secs}s is less than the ${min}s the sleeps need" >&2
            return
        fi
        echo "  $label -parallel-builds=$par run $run: ${secs}s, $markers/$N provisioners ran" >&2
        times+=("$secs")
    done
    result="$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
}

# The machine's floor for the same work: N inline scripts started at once through /bin/sh -c the
# way shell-local runs them (the sleeps plus every process start), with no build tool at all.
floor() {
    local dir="$work/floor" i start end
    rm -rf "$dir"; mkdir -p "$dir/markers"
    for i in $(seq 1 "$N"); do
        printf '#!/bin/sh -e\nsleep 1\ntouch "%s/markers/%s"\n' "$dir" "$i" >"$dir/s$i"
        chmod 700 "$dir/s$i"
    done
    start="$(date +%s.%N)"
    for i in $(seq 1 "$N"); do
        /bin/sh -c "PACKER_BUILDER_TYPE='null' PACKER_BUILD_NAME='s$i'  $dir/s$i" &
    done
    wait
    end="$(date +%s.%N)"
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }'
}

ratio() {
    awk -v k="$1" -v p="$2" 'BEGIN {
        if (k ~ /^[0-9.]+$/ && p ~ /^[0-9.]+$/ && p > 0) printf "%.2f", k / p; else print "n/a" }'
}

echo "bench-build: $N null sources, one shell-local (sleep 1 + marker) each; RUNS=$RUNS" >&2
echo "  kiln:   $kiln" >&2
echo "  packer: $packer ($("$packer" version 2>/dev/null | head -n1 || echo '?'))" >&2

min_all=1
min_ten="$(awk -v n="$N" 'BEGIN { printf "%d", (n + 9) / 10 }')"

f0="$(floor)"
echo "  shell floor: ${f0}s for $N scripts started at once" >&2
measure kiln 0 "$min_all" "$kiln" build;         k0="$result"
measure packer 0 "$min_all" "$packer" build;     p0="$result"
measure kiln 10 "$min_ten" "$kiln" build;        k10="$result"
if [ "$full" = 1 ]; then
    measure packer 10 "$min_ten" "$packer" build; p10="$result"
else
    p10="not run (--full)"
fi

echo
echo "| case | kiln s | packer s | ratio | shell floor s |"
echo "|---|---|---|---|---|"
echo "| $N sources, -parallel-builds=0 | $k0 | $p0 | $(ratio "$k0" "$p0") | $f0 |"
echo "| $N sources, -parallel-builds=10 | $k10 | $p10 | $(ratio "$k10" "$p10") | |"
