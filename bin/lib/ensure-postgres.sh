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
source "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh"
apt_install ensure-postgres postgresql
exit 0
