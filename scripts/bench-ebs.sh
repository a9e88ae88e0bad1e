#!/usr/bin/env bash
# Wall-clock benchmark of amazon-ebs's multi-region flow, kiln against Packer 1.6.6, against the
# local rig (scripts/rig.sh: moto's EC2 server and sshd on 127.0.0.1), runs alternating in one
# rig. The flow: source AMI by filter, temporary key pair and security group, launch, SSH, one
# shell provisioner, stop, create the AMI, copy it to three regions, clean up. Both tools build
# the same template through `custom_endpoint_ec2`, `ssh_host` and `ssh_port`, each run with its
# own `ami_name` (a variable), and a run counts only when the tool exited 0, the provisioner's
# commands were recorded by the rig's fake sudo, and moto holds the AMI in all four regions.
#
# Usage: scripts/bench-ebs.sh          (RUNS per tool, default 5)
# Environment: KILN (default target/measure/kiln, `cargo build --profile measure --bin kiln`), PACKER (default packer), RUNS; KEEP=1 keeps the
# scratch folder (template, logs, events, moto recordings) and prints where.
# Prints a markdown table: median wall for each tool, the ratio, EC2 calls per run (moto's
# recorder), and kiln's median per-step durations from its NDJSON events.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. scripts/rig.sh

RUNS="${RUNS:-5}"
kiln="${KILN:-target/measure/kiln}"
case "$kiln" in /*) ;; */*) kiln="$root/$kiln" ;; *) kiln="$(command -v "$kiln" || echo "$kiln")" ;; esac
packer="$(command -v "${PACKER:-packer}" || true)"
for tool in "$kiln" "$packer"; do
  [ -x "$tool" ] || { echo "bench-ebs: not found: ${tool:-packer} (cargo build --profile measure --bin kiln; apt-get install packer)" >&2; exit 1; }
done

work=$(mktemp -d)
if [ -n "${KEEP:-}" ]; then trap 'rig_stop; echo "bench-ebs: kept $work" >&2' EXIT; else trap 'rig_stop; rm -rf "$work"' EXIT; fi
export CHECKPOINT_DISABLE=1 MOTO_ENABLE_RECORDING=True MOTO_RECORDER_FILEPATH="$work/recording" KILN_HOME="$work/kiln-home"
unset PACKER_LOG PACKER_LOG_PATH AWS_ENDPOINT_URL AWS_ENDPOINT_URL_EC2 KILN_SSH_ENDPOINT || true
rig_start
moto="http://127.0.0.1:$moto_port"

cat > "$work/bench.pkr.hcl" <<'HCL'
variable "run" {
  type = string
}
variable "endpoint" {
  type = string
}
variable "ssh_port" {
  type = number
}

source "amazon-ebs" "bench" {
  ami_name      = "bench-${var.run}"
  instance_type = "t3.micro"
  region        = "us-east-1"
  ami_regions   = ["us-west-2", "eu-west-1", "ap-southeast-1"]
  source_ami_filter {
    filters = {
      name             = "ubuntu/images/hvm-ssd/ubuntu-focal-20.04-amd64-server-*"
      root-device-type = "ebs"
    }
    most_recent = true
    owners      = ["099720109477"]
  }
  custom_endpoint_ec2        = var.endpoint
  skip_credential_validation = true
  skip_metadata_api_check    = true
  skip_region_validation     = true
  ssh_username               = "ubuntu"
  ssh_host                   = "127.0.0.1"
  ssh_port                   = var.ssh_port
}

build {
  sources = ["source.amazon-ebs.bench"]

  provisioner "shell" {
    inline = ["sudo apt-get update", "sudo systemctl enable nginx"]
  }
}
HCL

recorder() { curl -sf -X POST "$moto/moto-api/recorder/$1" >/dev/null; }

# AMIs named NAME in REGION that are available.
amis_named() {
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  curl -sf -H "Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/$2/ec2/aws4_request" \
    -d "Action=DescribeImages&Owner.1=self&Filter.1.Name=name&Filter.1.Value.1=$1&Version=2016-11-15" "$moto/" |
    grep -c '<imageState>available' || true
}

# one TOOL N: one timed run; appends "secs calls" to $work/TOOL.times
one() {
  local tool="$1" n="$2" name="bench-$1-$2-$$" start end rc=0 before log="$work/$1-$2.log"
  local args=(build -var "run=$1-$2-$$" -var "endpoint=$moto" -var "ssh_port=$ssh_port")
  [ "$tool" = kiln ] && args+=(-color=false -events "$work/kiln-$n.ndjson")
  before=$(wc -l < "$rig/commands.log")
  recorder reset-recording; recorder start-recording
  start=$(date +%s.%N)
  (cd "$work" && AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true \
    "$([ "$tool" = kiln ] && echo "$kiln" || echo "$packer")" "${args[@]}" bench.pkr.hcl) >"$log" 2>&1 || rc=$?
  end=$(date +%s.%N)
  recorder stop-recording
  curl -sf "$moto/moto-api/recorder/download-recording" > "$work/rec-$tool-$n"
  local calls secs ran regions=0 r
  calls=$(grep -c . "$work/rec-$tool-$n" || true)
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
  ran=$(( $(wc -l < "$rig/commands.log") - before ))
  for r in us-east-1 us-west-2 eu-west-1 ap-southeast-1; do
    [ "$(amis_named "$name" "$r")" = 1 ] && regions=$((regions + 1))
  done
  if [ "$rc" != 0 ] || [ "$ran" != 4 ] || [ "$regions" != 4 ]; then
    echo "  $tool run $n: FAILED (exit $rc, $ran/4 commands, AMI in $regions/4 regions). Last lines of $log:" >&2
    tail -n 12 "$log" | sed 's/^/      | /' >&2
    exit 1
  fi
  echo "  $tool run $n: ${secs}s, $calls EC2 calls" >&2
  echo "$secs $calls" >> "$work/$tool.times"
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }

echo "bench-ebs: multi-region amazon-ebs flow against moto + sshd; RUNS=$RUNS, alternating" >&2
echo "  kiln:   $kiln" >&2
echo "  packer: $packer ($("$packer" version 2>/dev/null | head -n1))" >&2
one kiln 0; one packer 0   # warm-up: not counted
rm -f "$work/kiln.times" "$work/packer.times"
for n in $(seq 1 "$RUNS"); do
  one kiln "$n"
  one packer "$n"
done

k=$(cut -d' ' -f1 "$work/kiln.times" | median)
p=$(cut -d' ' -f1 "$work/packer.times" | median)
kc=$(cut -d' ' -f2 "$work/kiln.times" | median)
pc=$(cut -d' ' -f2 "$work/packer.times" | median)
echo
echo "| tool | median wall s | EC2 calls |"
echo "|---|---|---|"
echo "| kiln | $k | $kc |"
echo "| Packer $("$packer" version 2>/dev/null | head -n1 | sed 's/^Packer v//') | $p | $pc |"
echo "| kiln / Packer | $(awk -v k="$k" -v p="$p" 'BEGIN { printf "%.2f", k / p }') | |"
echo
echo "kiln's steps (median ms over $RUNS runs, from its NDJSON events):"
echo
python3 - "$work" "$RUNS" <<'PY'
import json, sys, statistics
work, runs = sys.argv[1], int(sys.argv[2])
steps = {}
for n in range(1, runs + 1):
    start = {}
    for line in open(f"{work}/kiln-{n}.ndjson"):
        e = json.loads(line)
        node = e.get("node")
        if e.get("event") in ("step_start", "cleanup"):
            start[node] = e["at_ms"]
        elif e.get("event") == "step_finish" and node in start:
            steps.setdefault(node, []).append((start[node], e["at_ms"] - start[node]))
print("| step | starts at ms | takes ms |")
print("|---|---|---|")
for node, v in sorted(steps.items(), key=lambda kv: statistics.median(s for s, _ in kv[1])):
    print(f"| {node} | {statistics.median(s for s, _ in v):.0f} | {statistics.median(d for _, d in v):.0f} |")
PY
