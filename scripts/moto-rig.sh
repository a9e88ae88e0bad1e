#!/usr/bin/env bash
# Build an amazon-ebs template with no AWS account: moto's EC2 server and OpenSSH's sshd on
# 127.0.0.1 (scripts/rig.sh), then `kiln build` with every call kept local. The sshd accepts
# whatever key the temporary key pair has and logs in the local user `ubuntu` (created if
# missing, as root), with fake `sudo`, `apt-get` and `systemctl` first on the PATH that only
# record their arguments.
#
#   scripts/moto-rig.sh [kiln build arguments...]    (default: ../shared/seed-template.pkr.hcl)
#
# KILN (default target/debug/kiln) picks the binary. Everything stops when the build ends.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. scripts/rig.sh
kiln=${KILN:-$root/target/debug/kiln}
[ $# -gt 0 ] || set -- ../shared/seed-template.pkr.hcl

trap rig_stop EXIT
rig_start
rig_env "$kiln" build "$@"
echo "--- commands the provisioners ran:"
cat "$rig/commands.log"
