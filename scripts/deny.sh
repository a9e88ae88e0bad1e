#!/usr/bin/env bash
# Check kiln's dependency graph with cargo-deny (config: deny.toml at the top of the repo).
#
#   scripts/deny.sh                                   # bans, licenses, sources
#   KILN_ADVISORY_DB=/path/to/advisory-db scripts/deny.sh   # ... and advisories, offline
#
# bans/licenses/sources need only crates.io. The advisories check needs the RustSec database,
# which lives on github.com: give a checkout of it (a `git clone` of rustsec/advisory-db) in
# KILN_ADVISORY_DB and it is used offline; without one the advisories check is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

DENY_VERSION=0.20.2

if [ "$(cargo deny --version 2>/dev/null || true)" != "cargo-deny $DENY_VERSION" ]; then
  cargo install cargo-deny --locked --version "$DENY_VERSION"
fi

cargo deny --locked check bans licenses sources

if [ -z "${KILN_ADVISORY_DB:-}" ]; then
  echo "advisories not checked: the RustSec database (github.com) can't be reached from this machine; set KILN_ADVISORY_DB to a checkout of it"
  exit 0
fi

db=$(cd "$KILN_ADVISORY_DB" && pwd -P)
if [ ! -d "$db/crates" ] || ! git -C "$db" rev-parse --verify -q HEAD >/dev/null; then
  echo "KILN_ADVISORY_DB=$KILN_ADVISORY_DB is not a git checkout of the RustSec advisory database" >&2
  exit 1
fi
echo "advisory database: $db (last commit $(git -C "$db" log -1 --format=%cs))"

# cargo-deny opens the default database at <db-path>/advisory-db-<XXH64 of its lowercased URL,
# seed 0xca80de71> (url_to_db_path in cargo-deny 0.20.2), so point a db-path of our own at the
# checkout under that name, in a copy of deny.toml that differs only by that db-path.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/dbs"
ln -s "$db" "$tmp/dbs/advisory-db-3157b0e258782691"
sed "/^\[advisories\]/a db-path = \"$tmp/dbs\"" deny.toml >"$tmp/deny.toml"

cargo deny --locked --offline --config "$tmp/deny.toml" check advisories
