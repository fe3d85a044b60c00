#!/usr/bin/env bash
# Installs what the project needs and the machine lacks, from Debian's
# packages: the PostgreSQL server (always), Chromium (with the argument
# "chromium", for browser tests) and, with it, axe-core from the npm
# registry (pinned: the accessibility checks the browser tests run).
# Idempotent and quiet when all is there.
set -euo pipefail

have_postgres() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: $* is missing; install it as root: apt-get install $*" >&2
    exit 1
  fi
  if [ -z "${APT_UPDATED:-}" ]; then
    apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  echo "deps: installed $*"
}

if ! have_postgres; then
  apt_install postgresql
fi
if [ "${1:-}" = "chromium" ] && [ ! -x /usr/bin/chromium ]; then
  apt_install chromium
fi
AXE_VERSION=4.14.1
AXE_DIR="$(cd "$(dirname "$0")/.." && pwd)/.cache/axe-core-$AXE_VERSION"
if [ "${1:-}" = "chromium" ] && [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
  if ! command -v npm >/dev/null; then
    apt_install npm
  fi
  npm install --silent --no-audit --no-fund --prefix "$AXE_DIR" "axe-core@$AXE_VERSION" >/dev/null
  echo "deps: installed axe-core $AXE_VERSION"
fi
