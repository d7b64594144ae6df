#!/usr/bin/env bash
# System packages the tests use: Debian's Chromium (page tests), Redis + PostgreSQL (scale-out
# store tests) and nginx (reverse-proxy tests, tests/deployment). Installed when missing and we are
# root; otherwise one line naming the fix.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing+=(nginx)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "tthc: error: the tests need Debian packages: ${missing[*]}; install them with 'sudo apt-get install -y ${missing[*]}'." >&2
  exit 2
fi
echo "==> Installing Debian packages for the tests: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null \
  || { echo "tthc: error: 'apt-get install ${missing[*]}' failed; install them by hand and run again." >&2; exit 2; }
# Debian starts these as services on install; the tests run their own instances on other ports.
(service redis-server stop; service postgresql stop; service nginx stop) >/dev/null 2>&1 || true
