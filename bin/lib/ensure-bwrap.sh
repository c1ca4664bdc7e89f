#!/usr/bin/env bash
# Installs bubblewrap (`bwrap`) from Debian's packages when missing: the sandbox tests run bash in
# a real one. Idempotent; never fails the build by itself: without bwrap the sandbox tests fail with
# a message that says to run this script.
set -u
if command -v bwrap >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-bwrap: no apt-get here; install bubblewrap yourself" >&2
  exit 0
fi
sudo_cmd=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd="sudo -n"; else
    echo "ensure-bwrap: not root and no sudo; cannot install bubblewrap" >&2; exit 0; fi
fi
echo "ensure-bwrap: installing bubblewrap from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq >&2 || true
$sudo_cmd apt-get install -y -qq --no-install-recommends bubblewrap >&2 || \
  echo "ensure-bwrap: apt-get install failed" >&2
exit 0
