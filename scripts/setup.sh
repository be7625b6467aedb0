#!/usr/bin/env bash
# Sourced by scripts/demo.sh and scripts/test.sh: makes sure the system tools Quarry's model
# provisioning needs are present (Python 3 with venv + pip), installing Debian's packages
# when they are missing and we can (root + apt-get). Cargo and rustc come from rustup.
set -euo pipefail

need_python() {
  local py="${QUARRY_PYTHON:-python3}"
  command -v "$py" >/dev/null 2>&1 && "$py" -c 'import venv, ensurepip, pip' >/dev/null 2>&1
}

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo not found; install Rust with rustup (https://rustup.rs)" >&2
  exit 1
fi
if ! need_python; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing python3, python3-venv, python3-pip (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
  fi
  if ! need_python; then
    echo "error: Quarry needs Python 3 with the venv and pip modules to provision models." >&2
    echo "       Debian/Ubuntu: sudo apt-get install python3 python3-venv python3-pip" >&2
    exit 1
  fi
fi
