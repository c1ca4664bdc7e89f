#!/usr/bin/env bash
# Installs OpenSSH's sshd from Debian's packages when missing (the ssh-pool tests run a real one).
# Idempotent; never fails the build by itself: without sshd the ssh-pool tests fail with a message
# that says to run this script.
set -u
if [ -x /usr/sbin/sshd ] && command -v ssh-keygen >/dev/null 2>&1 && command -v ssh >/dev/null 2>&1; then
  mkdir -p /run/sshd 2>/dev/null || true
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-sshd: no apt-get here; install openssh-server and openssh-client yourself" >&2
  exit 0
fi
sudo_cmd=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd="sudo -n"; else
    echo "ensure-sshd: not root and no sudo; cannot install openssh-server" >&2; exit 0; fi
fi
echo "ensure-sshd: installing openssh-server and openssh-client from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq >&2 || true
$sudo_cmd apt-get install -y -qq --no-install-recommends openssh-server openssh-client >&2 || \
  echo "ensure-sshd: apt-get install failed" >&2
$sudo_cmd mkdir -p /run/sshd 2>/dev/null || true
exit 0
