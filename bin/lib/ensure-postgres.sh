#!/usr/bin/env bash
# Installs PostgreSQL's server from Debian's packages when missing (the Postgres store's tests run a
# throwaway cluster of their own: initdb in a temp dir, a loopback port, stopped afterwards).
# Idempotent; never fails the build by itself: without it the Postgres tests fail with a message
# that says to run this script. Debian's package may set up its own default cluster; the tests do
# not use it.
set -u
have_server() {
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ]; then return 0; fi
  done
  return 1
}
if have_server && { [ "$(id -u)" != "0" ] || id postgres >/dev/null 2>&1; }; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-postgres: no apt-get here; install PostgreSQL's server (initdb, postgres) yourself" >&2
  exit 0
fi
sudo_cmd=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd="sudo -n"; else
    echo "ensure-postgres: not root and no sudo; cannot install postgresql" >&2; exit 0; fi
fi
echo "ensure-postgres: installing postgresql from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq >&2 || true
$sudo_cmd apt-get install -y -qq --no-install-recommends postgresql >&2 || \
  echo "ensure-postgres: apt-get install failed" >&2
exit 0
