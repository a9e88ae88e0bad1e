# The local amazon-ebs rig, sourced by scripts/moto-rig.sh and scripts/bench-ebs.sh: moto's EC2
# server and OpenSSH's sshd on 127.0.0.1. The sshd accepts whatever key the temporary key pair
# has and logs in the local user `ubuntu` (created if missing, as root), with fake `sudo`,
# `apt-get` and `systemctl` first on the PATH that only record their arguments.
#
#   rig_start     sets rig (its folder), moto_port, ssh_port; moto's extra env in MOTO_ENV_*
#   rig_env CMD   runs CMD with credentials and endpoints kept local
#   rig_stop      stops both and removes the folder
# The repository root must be in $root.

rig_pids=()

rig_start() {
  moto_server=${KILN_MOTO_SERVER:-$root/target/moto-venv/bin/moto_server}
  [ -x "$moto_server" ] || moto_server=$(command -v moto_server || true)
  if [ -z "$moto_server" ]; then
    echo "error: moto_server not found: run scripts/test.sh once (it installs moto in target/moto-venv)" >&2
    exit 1
  fi
  rig=$(mktemp -d)
  chmod 755 "$rig"
  cat > "$rig/amis.json" <<'AMIS'
[{"ami_id": "ami-0fd0e2c8e4a1f2b3c", "name": "ubuntu/images/hvm-ssd/ubuntu-focal-20.04-amd64-server-20240101",
  "description": "Canonical, Ubuntu, 20.04 LTS, amd64 focal image", "owner_id": "099720109477", "public": true,
  "virtualization_type": "hvm", "architecture": "x86_64", "state": "available", "platform": null,
  "image_type": "machine", "hypervisor": "xen", "root_device_name": "/dev/sda1", "root_device_type": "ebs",
  "sriov": "simple", "creation_date": "2024-01-01T00:00:00.000Z"}]
AMIS
  moto_port=$(rig_free_port)
  MOTO_AMIS_PATH="$rig/amis.json" "$moto_server" -H 127.0.0.1 -p "$moto_port" >"$rig/moto.log" 2>&1 &
  rig_pids+=($!)

  id ubuntu >/dev/null 2>&1 || useradd -m -s /bin/sh ubuntu
  usermod -p '*' ubuntu
  mkdir -p "$rig/bin" /run/sshd
  chmod 755 "$rig/bin"
  : > "$rig/commands.log"
  chmod 666 "$rig/commands.log"
  printf '#!/bin/sh\necho "sudo $*" >> %s\nexec "$@"\n' "$rig/commands.log" > "$rig/bin/sudo"
  for name in apt-get systemctl; do
    printf '#!/bin/sh\necho "%s $*" >> %s\necho "fake %s $*"\n' "$name" "$rig/commands.log" "$name" > "$rig/bin/$name"
  done
  chmod 755 "$rig/bin/"*
  ssh-keygen -q -t ed25519 -N '' -f "$rig/host_key"
  ssh_port=$(rig_free_port)
  cat > "$rig/sshd_config" <<SSHD
ListenAddress 127.0.0.1
Port $ssh_port
HostKey $rig/host_key
AuthorizedKeysFile none
AuthorizedKeysCommand /bin/echo %t %k
AuthorizedKeysCommandUser nobody
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PidFile $rig/sshd.pid
PermitUserEnvironment yes
SetEnv PATH=$rig/bin:/usr/local/bin:/usr/bin:/bin
SSHD
  /usr/sbin/sshd -D -e -f "$rig/sshd_config" 2>"$rig/sshd.log" &
  rig_pids+=($!)

  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$moto_port/moto-api/" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "error: moto_server did not answer on port $moto_port:" >&2
  tail -n 20 "$rig/moto.log" >&2
  exit 1
}

rig_env() {
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true \
  AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" KILN_SSH_ENDPOINT="127.0.0.1:$ssh_port" \
    "$@"
}

rig_stop() {
  for pid in "${rig_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -z "${rig:-}" ] || rm -rf "$rig"
}

rig_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
