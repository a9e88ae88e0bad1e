#!/usr/bin/env bash
# Property-based test of kiln's HCP Packer-compatible API with schemathesis.
#
# usage: scripts/schemathesis.sh KILN_BINARY VENV_DIR [extra `schemathesis run` options...]
#   VENV_DIR: made by `python3 -m venv VENV && VENV/bin/pip install 'schemathesis==4.32.5'`
#   (scripts/test.sh makes target/schemathesis-venv; tests/registry/hcp.rs runs this script).
#   env SPEC_DIR: where packer-2023-01-01.swagger.json and resource-manager-2019-12-10.swagger.json
#     live (default: ../shared/hcp-api beside the repository). ST_SEED (default 1),
#     ST_MAX_EXAMPLES (default 25).
#   env KEEP=1 keeps the temp dir (server log, configs, HAR of every request) and prints its path.
#
# Starts `kiln registry serve` on 127.0.0.1 (random port, self-signed TLS) in a temp KILN_HOME,
# seeds it through the HCP API, runs schemathesis against the 26 implemented Packer operations and
# the 4 implemented resource-manager ones, stops the server and exits with schemathesis's status
# (the first non-zero of its three runs). All traffic goes to 127.0.0.1.
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 KILN_BINARY VENV_DIR [schemathesis run options...]" >&2; exit 2; }
KILN=$(realpath "$1"); VENV=$(realpath "$2"); shift 2
SPEC_DIR=${SPEC_DIR:-$(cd "$(dirname "$0")/.." && pwd)/../shared/hcp-api}
SEED=${ST_SEED:-1}
MAX_EXAMPLES=${ST_MAX_EXAMPLES:-25}
PY=$VENV/bin/python
ST=$VENV/bin/schemathesis
for f in "$KILN" "$PY" "$ST" "$SPEC_DIR/packer-2023-01-01.swagger.json" "$SPEC_DIR/resource-manager-2019-12-10.swagger.json"; do
  [ -e "$f" ] || { echo "schemathesis.sh: missing $f" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/kiln-schemathesis.XXXXXX)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "schemathesis.sh: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
export KILN_HOME=$WORK/home
mkdir -p "$KILN_HOME"
cd "$WORK"

# --- server ---------------------------------------------------------------------------------
"$KILN" registry serve --listen 127.0.0.1:0 --tls-self-signed >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
PORT=
for _ in $(seq 1 100); do
  PORT=$(sed -n 's#.*listening on https://127\.0\.0\.1:\([0-9][0-9]*\).*#\1#p' "$WORK/server.log" | head -1)
  [ -n "$PORT" ] && [ -s "$KILN_HOME/tls/cert.pem" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "schemathesis.sh: kiln server died:" >&2; cat "$WORK/server.log" >&2; exit 2; }
  sleep 0.2
done
[ -n "$PORT" ] || { echo "schemathesis.sh: kiln server did not start:" >&2; cat "$WORK/server.log" >&2; exit 2; }
BASE=https://127.0.0.1:$PORT
CA=$KILN_HOME/tls/cert.pem

ADMIN=$("$KILN" registry token create --scope admin 2>"$WORK/token.err") ||
  { echo "schemathesis.sh: kiln registry token create failed:" >&2; cat "$WORK/token.err" >&2; exit 2; }
KILN_REGISTRY_ADDR=$BASE KILN_REGISTRY_TOKEN=$ADMIN KILN_REGISTRY_CA=$CA \
  "$KILN" registry hcp-env -bucket team -scope admin >"$WORK/hcp.env" 2>"$WORK/hcp-env.err" ||
  { echo "schemathesis.sh: kiln registry hcp-env failed:" >&2; cat "$WORK/hcp-env.err" >&2; exit 2; }
echo >>"$WORK/hcp.env"
HCP_ORGANIZATION_ID=$(sed -n 's/^HCP_ORGANIZATION_ID=//p' "$WORK/hcp.env")
HCP_PROJECT_ID=$(sed -n 's/^HCP_PROJECT_ID=//p' "$WORK/hcp.env")
HCP_CLIENT_ID=$(sed -n 's/^HCP_CLIENT_ID=//p' "$WORK/hcp.env")
HCP_CLIENT_SECRET=$(sed -n 's/^HCP_CLIENT_SECRET=//p' "$WORK/hcp.env")
export BASE CA HCP_ORGANIZATION_ID HCP_PROJECT_ID HCP_CLIENT_ID HCP_CLIENT_SECRET SPEC_DIR WORK

# --- spec copies, OAuth token, seed data, schemathesis config --------------------------------
"$PY" - <<'PYEOF'
import base64, json, os, re, ssl, sys, urllib.error, urllib.parse, urllib.request

E = os.environ
ctx = ssl.create_default_context(cafile=E["CA"])

# schemathesis 4.x (4.20.0 .. 4.32.5 checked) rejects every operation whose path template has a
# dotted placeholder such as {location.organization_id}: get_template_fields() calls str.format(),
# which reads the dot as attribute access (KeyError 'location'). Rename {a.b} -> {a_b} in a copy;
# the URLs on the wire do not change.
def undot(src, dst):
    spec = json.load(open(src))
    fix = lambda s: re.sub(r"\{([^}]*)\}", lambda m: "{" + m.group(1).replace(".", "_") + "}", s)
    for item in spec["paths"].values():
        for op in item.values():
            for p in (op.get("parameters", []) if isinstance(op, dict) else []):
                if p.get("in") == "path":
                    p["name"] = p["name"].replace(".", "_")
    spec["paths"] = {fix(k): v for k, v in spec["paths"].items()}
    json.dump(spec, open(dst, "w"))

undot(f"{E['SPEC_DIR']}/packer-2023-01-01.swagger.json", f"{E['WORK']}/packer.json")
undot(f"{E['SPEC_DIR']}/resource-manager-2019-12-10.swagger.json", f"{E['WORK']}/rm.json")

# OAuth2 client credentials, as the HCP SDK does it.
req = urllib.request.Request(
    E["BASE"] + "/oauth2/token",
    data=urllib.parse.urlencode({"grant_type": "client_credentials",
                                 "audience": "https://api.hashicorp.cloud"}).encode(),
    method="POST")
req.add_header("Authorization", "Basic " + base64.b64encode(
    f"{E['HCP_CLIENT_ID']}:{E['HCP_CLIENT_SECRET']}".encode()).decode())
with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
    token = json.load(r)["access_token"]

org, proj = E["HCP_ORGANIZATION_ID"], E["HCP_PROJECT_ID"]
prefix = f"{E['BASE']}/packer/2023-01-01/organizations/{org}/projects/{proj}"

def call(method, path, body=None):
    req = urllib.request.Request(prefix + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        sys.exit(f"seed: {method} {path} -> {e.code} {e.read().decode(errors='replace')}")

RUN = "3f2a1c2e-1111-4222-8333-444455556666"
# Bucket `web`: version fp1 complete (one DONE build with an artifact and an SBOM `sbom1`),
# version fp2 running (one UNSET build); channels `latest` (managed) and `prod` -> fp1.
call("PUT", "/buckets", {"name": "web", "description": "seed", "labels": {"team": "qa"}})
call("POST", "/buckets/web/versions", {"fingerprint": "fp1", "template_type": "HCL2"})
b1 = call("POST", "/buckets/web/versions/fp1/builds", {
    "component_type": "amazon-ebs.ubuntu", "packer_run_uuid": RUN, "status": "BUILD_UNSET"})["build"]["id"]
call("PATCH", f"/buckets/web/versions/fp1/builds/{b1}", {"status": "BUILD_RUNNING", "packer_run_uuid": RUN})
call("PUT", f"/buckets/web/versions/fp1/builds/{b1}/sboms", {
    "compressed_sbom": base64.b64encode(b'{"bomFormat":"CycloneDX","specVersion":"1.5"}').decode(),
    "format": "CYCLONEDX", "name": "sbom1"})
call("PATCH", f"/buckets/web/versions/fp1/builds/{b1}", {
    "status": "BUILD_DONE", "packer_run_uuid": RUN, "platform": "aws", "labels": {"os": "ubuntu"},
    "artifacts": [{"external_identifier": "ami-12345", "region": "us-east-1"}]})
call("POST", "/buckets/web/channels", {"name": "prod", "version_fingerprint": "fp1"})
call("POST", "/buckets/web/versions", {"fingerprint": "fp2", "template_type": "HCL2"})
b2 = call("POST", "/buckets/web/versions/fp2/builds", {
    "component_type": "docker.app", "packer_run_uuid": RUN, "status": "BUILD_UNSET"})["build"]["id"]
for fp in ("rv1", "rv2", "rv3"):  # complete versions for UpdateVersion to revoke
    call("POST", "/buckets/web/versions", {"fingerprint": fp, "template_type": "HCL2"})
    b = call("POST", f"/buckets/web/versions/{fp}/builds", {
        "component_type": "docker.app", "packer_run_uuid": RUN, "status": "BUILD_UNSET"})["build"]["id"]
    call("PATCH", f"/buckets/web/versions/{fp}/builds/{b}", {
        "status": "BUILD_DONE", "packer_run_uuid": RUN, "platform": "docker",
        "artifacts": [{"external_identifier": f"sha256:{fp}", "region": "docker"}]})
# Throw-away objects for the Delete operations, so that they leave `web` and `prod` alone.
for name in ("gone1", "gone2", "gone3"):
    call("PUT", "/buckets", {"name": name})
call("POST", "/buckets/web/channels", {"name": "doomed"})

# UpdateVersion takes revoke_at or revoke_in, not both, and revoke_in is a duration such as "30d"
# or "2h45m" (the spec says so in prose only), so generated bodies almost never reach the revocation
# logic. Many UpdateVersion bodies become "revoke in <duration>", with durations from the
# documented forms to the extremes.
HOOKS = """
import schemathesis
from hypothesis import strategies as st

# Extremes first: hypothesis leans towards the first choices.
DURATIONS = ["99999999999d", "300000000000s", "0s", "30d", "2h45m"]

@schemathesis.hook
def flatmap_body(context, body):
    op = context.operation
    if (op is not None and op.method.upper() == "PATCH" and op.path.endswith("/versions/{fingerprint}")
            and isinstance(body, dict)):
        base = {k: v for k, v in body.items() if k not in ("revoke_at", "revoke_in", "restore")}
        return st.one_of(st.sampled_from(DURATIONS).map(lambda d: {**base, "revoke_in": d}), st.just(body))
    return st.just(body)
"""

common = f"""
hooks = "{E['WORK']}/hooks.py"
base-url = "{E['BASE']}"
tls-verify = "{E['CA']}"
[headers]
Authorization = "Bearer {token}"
[phases.coverage]
# A method the path does not declare gets 501/code 12 from kiln, as from grpc-gateway; not a bug.
unexpected-methods = []
"""
packer = common + f"""
[parameters]
"path.location_organization_id" = "{org}"
"path.location_project_id" = "{proj}"
"path.bucket_name" = {{ dictionary = "buckets", probability = 0.85 }}
"path.fingerprint" = {{ dictionary = "fingerprints", probability = 0.85 }}
"path.build_id" = {{ dictionary = "builds", probability = 0.85 }}
"path.channel_name" = {{ dictionary = "channels", probability = 0.85 }}
"path.sbom_name" = {{ dictionary = "sboms", probability = 0.85 }}

[dictionaries.buckets]
values = ["web"]
[dictionaries.fingerprints]
values = ["fp1", "fp2"]
[dictionaries.builds]
values = ["{b1}", "{b2}"]
[dictionaries.channels]
values = ["latest", "prod"]
[dictionaries.sboms]
values = ["sbom1"]
[dictionaries.gone_buckets]
values = ["gone1", "gone2", "gone3"]
[dictionaries.gone_channels]
values = ["doomed", "latest"]

# Fresh names for the create operations, so that some creates succeed (first use) and some
# collide (409); the rest of the draws stay random.
[dictionaries.new_names]
values = ["app-1", "app-2", "app-3", "app-4", "app-5", "app-6", "app-7", "app-8"]
[dictionaries.new_fingerprints]
values = ["fp3", "fp4", "fp5", "fp6", "01HZZZZZZZZZZZZZZZZZZZZZZZ"]
[dictionaries.components]
values = ["amazon-ebs.a", "docker.b", "googlecompute.c", "qemu.d"]
[dictionaries.template_types]
values = ["HCL2", "JSON"]
[[operations]]
include-operation-id = ["PackerService_CreateBucket", "PackerService_CreateChannel", "PackerService_UploadSbom"]
parameters = {{ "body.name" = {{ dictionary = "new_names", probability = 0.5 }} }}
[[operations]]
include-operation-id = "PackerService_CreateVersion"
parameters = {{ "body.fingerprint" = {{ dictionary = "new_fingerprints", probability = 0.5 }}, "body.template_type" = {{ dictionary = "template_types", probability = 0.5 }} }}
# Complete versions for UpdateVersion to revoke (see HOOKS).
[dictionaries.revocable]
values = ["fp1", "fp2", "rv1", "rv2", "rv3"]
[[operations]]
include-operation-id = "PackerService_UpdateVersion"
parameters = {{ "path.fingerprint" = {{ dictionary = "revocable", probability = 0.85 }} }}
generation = {{ max-examples = 100 }}
[dictionaries.update_masks]
values = ["versionFingerprint", "restricted", "versionFingerprint,restricted"]
[[operations]]
include-operation-id = "PackerService_UpdateChannel"
parameters = {{ "body.update_mask" = {{ dictionary = "update_masks", probability = 0.6 }}, "body.version_fingerprint" = {{ dictionary = "fingerprints", probability = 0.6 }} }}
[[operations]]
include-operation-id = "PackerService_CreateBuild"
parameters = {{ "body.component_type" = {{ dictionary = "components", probability = 0.5 }} }}
# DeleteBucket and DeleteChannel run last, in their own schemathesis run, on throw-away objects.
[[operations]]
include-operation-id = "PackerService_DeleteBucket"
parameters = {{ "path.bucket_name" = {{ dictionary = "gone_buckets", probability = 0.85 }} }}
[[operations]]
include-operation-id = "PackerService_DeleteChannel"
parameters = {{ "path.channel_name" = {{ dictionary = "gone_channels", probability = 0.85 }} }}
"""
rm = common + f"""
[parameters]
"path.id" = {{ dictionary = "ids", probability = 0.85 }}
"query.scope.id" = {{ dictionary = "ids", probability = 0.85 }}
[dictionaries.ids]
values = ["{org}", "{proj}"]
"""
open(f"{E['WORK']}/hooks.py", "w").write(HOOKS)
open(f"{E['WORK']}/packer.toml", "w").write(packer)
open(f"{E['WORK']}/rm.toml", "w").write(rm)
PYEOF

# --- schemathesis ----------------------------------------------------------------------------
# Not implemented by kiln on purpose: each answers HTTP 501 with gRPC code 12 (Unimplemented).
UNIMPLEMENTED_PACKER="CreateEnforcedBlock CreateEnforcedBlockVersion CreateRegistry
  DeleteBuild DeleteEnforcedBlock DeleteEnforcedBlockVersion DeleteRegistry DeleteVersion GetEnforcedBlock
  GetEnforcedBlockLinkedBuckets GetEnforcedBlockVersions GetRegistryTFCRunTaskAPI GetRunTaskConfig
  ListBucketAncestry ListBucketPackages ListBucketPackagesVulnerabilitySummary
  ListBucketPackagesWithVulnerabilities ListBucketVulnerabilities ListBuildPackages ListEnforcedBlocks
  ManageEnforcedBlockLinkedBuckets RegenerateTFCRunTaskHmacKey UpdateEnforcedBlock
  UpdateEnforcedBlockVersion UpdateRegistry UpdateRunTaskConfig"
EXCLUDE=()
for op in $UNIMPLEMENTED_PACKER; do EXCLUDE+=(--exclude-operation-id "PackerService_$op"); done
# Resource manager: kiln serves only these four (the ones stock clients call).
INCLUDE_RM=(--include-operation-id OrganizationService_List --include-operation-id OrganizationService_Get
            --include-operation-id ProjectService_List --include-operation-id ProjectService_Get)

COMMON=(-c not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
        -n "$MAX_EXAMPLES" --seed "$SEED" --generation-database none --no-color
        --warnings off --max-failures 50)

run_st() {  # name config spec args...
  local name=$1 cfg=$2 spec=$3; shift 3
  local rc=0
  timeout 240 "$ST" --config-file "$cfg" run "$spec" "${COMMON[@]}" \
    --report har --report-har-path "$WORK/$name.har" "$@" >"$WORK/$name.out" 2>&1 || rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "$name: $(grep -E '^=+ .* in [0-9.]+s =+$' "$WORK/$name.out" | tr -d '=' | sed 's/^ *//; s/ *$//')"
  else
    echo "$name: schemathesis exited $rc"
    # From the FAILURES or ERRORS banner to the end, at most 200 lines.
    awk '/^=+ (FAILURES|ERRORS) =+$/{on=1} on' "$WORK/$name.out" >"$WORK/$name.short"
    [ -s "$WORK/$name.short" ] || tail -40 "$WORK/$name.out" >"$WORK/$name.short"
    head -200 "$WORK/$name.short"
    local n; n=$(wc -l <"$WORK/$name.short")
    [ "$n" -le 200 ] || echo "... $((n - 200)) more lines (rerun with KEEP=1 to keep $name.out and $name.har)"
  fi
  return "$rc"
}

DELETES=(PackerService_DeleteBucket PackerService_DeleteChannel)
status=0
record() { [ "$status" -ne 0 ] || status=$1; }
rc=0; run_st packer "$WORK/packer.toml" "$WORK/packer.json" "${EXCLUDE[@]}" \
  --exclude-operation-id "${DELETES[0]}" --exclude-operation-id "${DELETES[1]}" "$@" || rc=$?; record $rc
rc=0; run_st packer-deletes "$WORK/packer.toml" "$WORK/packer.json" \
  --include-operation-id "${DELETES[0]}" --include-operation-id "${DELETES[1]}" "$@" || rc=$?; record $rc
rc=0; run_st resource-manager "$WORK/rm.toml" "$WORK/rm.json" "${INCLUDE_RM[@]}" "$@" || rc=$?; record $rc
exit "$status"
