#!/usr/bin/env bash
# The registry server under load, next to the HTTP stack's ceiling, measured in the same run.
#
# 64 keep-alive connections (wrk) on loopback against:
#   1. a bare axum handler returning a constant (examples/bare_axum.rs): the ceiling here;
#   2. `kiln registry serve`, GET /v1/lookup through a channel (auth, SQLite read, JSON);
#   3. `kiln registry serve`, POST /v1/publish of a release with 3 builds x 3 regions, each a new
#      release (a SQLite write transaction each).
# Prints requests/s and p50/p99 latency for each, and the lookup's share of the ceiling.
#
#   scripts/bench-server.sh [SECONDS]        (default 10 per measurement)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
command -v wrk >/dev/null || {
  if [ "$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else echo "wrk is needed (apt-get install wrk)" >&2; exit 1; fi
}
cargo build --profile measure --quiet --bin kiln --example bare_axum
kiln=target/measure/kiln
bare=target/measure/examples/bare_axum

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
export KILN_HOME="$work"

# Wait for "... http://ADDR ..." on the first line a server prints to FILE.
address() {
  for _ in $(seq 1 200); do
    if addr=$(grep -o 'http://[0-9.:]*' "$1" 2>/dev/null | head -1) && [ -n "$addr" ]; then
      echo "$addr"; return
    fi
    sleep 0.05
  done
  echo "no server address in $1" >&2; exit 1
}

token=$("$kiln" registry token create --scope admin --description bench)
"$kiln" registry serve --listen 127.0.0.1:0 >"$work/kiln.out" 2>"$work/kiln.err" &
pids+=($!)
"$bare" 127.0.0.1:0 >"$work/bare.out" &
pids+=($!)
kiln_addr=$(address "$work/kiln.out")
bare_addr=$(address "$work/bare.out")

# One release of 3 builds x 3 regions for the lookups to find.
release_body() {
  local name=$1 builds="" sep=""
  for b in web api worker; do
    builds="$builds$sep{\"component\":\"amazon-ebs.$b\",\"provider\":\"aws\",\"images\":[{\"region\":\"us-east-1\",\"external_id\":\"ami-$b-1\"},{\"region\":\"us-west-2\",\"external_id\":\"ami-$b-2\"},{\"region\":\"eu-west-1\",\"external_id\":\"ami-$b-3\"}]}"
    sep=","
  done
  echo "{\"bucket\":\"bench\",\"product\":\"app\",\"release\":\"$name\",\"channels\":[\"stable\"],\"builds\":[$builds]}"
}
curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d "$(release_body seed)" "$kiln_addr/v1/publish" >/dev/null

# The publish load: every request a new release name (thread number + counter).
cat >"$work/publish.lua" <<LUA
local n = 0
function setup(thread) n = n + 1; thread:set("tid", n) end
function init(args) counter = 0 end
local template = [[$(release_body 'RELEASE')]]
function request()
  counter = counter + 1
  local body = template:gsub("RELEASE", "t" .. tid .. "-" .. counter)
  return wrk.format("POST", "/v1/publish", {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer $token"}, body)
end
LUA

lookup="/v1/lookup?bucket=bench&product=app&channel=stable&provider=aws&region=us-west-2&component=amazon-ebs.api"
curl -sf -H "Authorization: Bearer $token" "$kiln_addr$lookup" | grep -q ami-api-2

# wrk's summary as "requests/s p50 p99 non2xx".
measure() {
  local out
  out=$(wrk -t2 -c64 -d"${secs}s" --latency "$@")
  local rps p50 p99 bad
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  echo "$rps $p50 $p99 ${bad:-0}"
}

echo "warming up..." >&2
wrk -t2 -c64 -d2s "$bare_addr/" >/dev/null
wrk -t2 -c64 -d2s -H "Authorization: Bearer $token" "$kiln_addr$lookup" >/dev/null

read -r bare_rps bare_p50 bare_p99 bare_bad < <(measure "$bare_addr/")
read -r look_rps look_p50 look_p99 look_bad < <(measure -H "Authorization: Bearer $token" "$kiln_addr$lookup")
read -r pub_rps pub_p50 pub_p99 pub_bad < <(measure -s "$work/publish.lua" "$kiln_addr")

printf '\n%-44s %12s %9s %9s %8s\n' "64 keep-alive connections, ${secs}s each" "requests/s" "p50" "p99" "non-2xx"
printf '%-44s %12s %9s %9s %8s\n' "bare axum, constant body (ceiling)" "$bare_rps" "$bare_p50" "$bare_p99" "$bare_bad"
printf '%-44s %12s %9s %9s %8s\n' "kiln GET /v1/lookup (channel)" "$look_rps" "$look_p50" "$look_p99" "$look_bad"
printf '%-44s %12s %9s %9s %8s\n' "kiln POST /v1/publish (3 builds x 3 regions)" "$pub_rps" "$pub_p50" "$pub_p99" "$pub_bad"
awk -v a="$look_rps" -v b="$bare_rps" 'BEGIN { printf "\nlookups: %.2fx the ceiling (target >= 0.5x)\n", a / b }'
releases=$(curl -sf -H "Authorization: Bearer $token" "$kiln_addr/v1/buckets/bench/products/app" | grep -o '"releases":[0-9]*')
echo "releases stored: $releases (the seed + every acknowledged publish)"
