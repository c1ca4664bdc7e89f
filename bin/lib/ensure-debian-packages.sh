#!/usr/bin/env bash
# Installs what the tests need from Debian's packages when it is missing, in one apt-get run.
# Arguments are `command:package` pairs: the package is installed when the command (a name on PATH or
# an absolute path) is not there. Idempotent; never fails the build by itself: a test that needs a
# missing program fails with a message naming it.
#   bash bin/lib/ensure-debian-packages.sh /usr/sbin/sshd:openssh-server tmux:tmux
set -u
missing=()
for pair in "$@"; do
  command="${pair%%:*}"
  package="${pair#*:}"
  if [ "${command#/}" != "$command" ]; then [ -x "$command" ] && continue
  elif command -v "$command" >/dev/null 2>&1; then continue; fi
  missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
source "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh"
apt_install ensure-debian-packages "${missing[@]}"
exit 0
