#!/usr/bin/env bash
# Installs Debian's Chromium when missing (the dashboard's browser tests drive /usr/bin/chromium with
# playwright-core; Playwright's own browser download cannot reach its servers here). Idempotent; never
# fails the build by itself: without Chromium the browser tests fail with a message that says to run
# this script.
set -u
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: no apt-get here; install Chromium at /usr/bin/chromium yourself" >&2
  exit 0
fi
sudo_cmd=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd="sudo -n"; else
    echo "ensure-chromium: not root and no sudo; cannot install chromium" >&2; exit 0; fi
fi
echo "ensure-chromium: installing chromium from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq >&2 || true
$sudo_cmd apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2 || \
  echo "ensure-chromium: apt-get install failed" >&2
exit 0
