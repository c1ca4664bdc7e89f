#!/usr/bin/env bash
# Installs tmux from Debian's packages when missing (CLI agents run in tmux; their tests drive a real
# one). Idempotent; never fails the build by itself: without tmux the cli-agents tests fail with a
# message that says to run this script, and a host reports "tmux is not available" in /health.
set -u
if command -v tmux >/dev/null 2>&1; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-tmux: no apt-get here; install tmux yourself" >&2
  exit 0
fi
sudo_cmd=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd="sudo -n"; else
    echo "ensure-tmux: not root and no sudo; cannot install tmux" >&2; exit 0; fi
fi
echo "ensure-tmux: installing tmux from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq >&2 || true
$sudo_cmd apt-get install -y -qq --no-install-recommends tmux >&2 || echo "ensure-tmux: apt-get install failed" >&2
exit 0
