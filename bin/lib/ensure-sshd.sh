#!/usr/bin/env bash
# OpenSSH's sshd and client for the ssh-pool tests (a real sshd); sshd needs /run/sshd to exist.
set -u
bash "$(dirname "${BASH_SOURCE[0]}")/ensure-debian-packages.sh" \
  /usr/sbin/sshd:openssh-server ssh:openssh-client ssh-keygen:openssh-client
mkdir -p /run/sshd 2>/dev/null || sudo -n mkdir -p /run/sshd 2>/dev/null || true
exit 0
