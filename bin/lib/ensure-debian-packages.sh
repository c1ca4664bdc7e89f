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
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-debian-packages: no apt-get here; install ${missing[*]} yourself" >&2
  exit 0
fi
sudo_cmd=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd="sudo -n"; else
    echo "ensure-debian-packages: not root and no sudo; cannot install ${missing[*]}" >&2
    exit 0
  fi
fi
echo "ensure-debian-packages: installing ${missing[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq >&2 || true
$sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
  echo "ensure-debian-packages: apt-get install ${missing[*]} failed" >&2
exit 0
