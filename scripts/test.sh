#!/usr/bin/env bash
# Run kiln's whole test suite on a fresh machine: set up what the tests need, then cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v dot >/dev/null 2>&1 || need_apt+=(graphviz)
# The SSH communicator's tests start a real OpenSSH server on 127.0.0.1.
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || need_apt+=(openssh-client)
# The registry's web console is tested in real headless Chromium, driven through chromedriver.
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium chromium-driver)
# An amazon test traces the build's connect() calls to show none leaves loopback.
command -v strace >/dev/null 2>&1 || need_apt+=(strace)
# `kiln man` is checked by rendering it with man -l.
command -v man >/dev/null 2>&1 || need_apt+=(man-db)
# The PostgreSQL store's tests start throwaway clusters (initdb, pg_ctl) on 127.0.0.1.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "note: ${need_apt[*]} missing and not root; tests that need them will say so" >&2
  fi
fi

# The amazon-ebs tests run against moto's EC2 server, installed in a venv of its own.
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_venv=1
if [ "${need_venv:-0}" = 1 ] && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi
if [ ! -x target/moto-venv/bin/moto_server ]; then
  python3 -m venv target/moto-venv
  target/moto-venv/bin/pip install -q 'moto[server]'
fi
# The HCP API's property-based run (scripts/schemathesis.sh), in a venv of its own, pinned: the
# spec's dotted path placeholders need the workaround that script applies, checked with this one.
if [ ! -x target/schemathesis-venv/bin/schemathesis ]; then
  python3 -m venv target/schemathesis-venv
  target/schemathesis-venv/bin/pip install -q 'schemathesis==4.32.5'
fi

if [ ! -d ../shared/corpus ]; then
  echo "error: ../shared (the corpus and the HCL spec suite) must sit beside the repository" >&2
  exit 1
fi

cargo test "$@"
