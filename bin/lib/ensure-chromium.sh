#!/usr/bin/env bash
# Installs Debian's Chromium when missing (the dashboard's browser tests drive /usr/bin/chromium with
# playwright-core; Playwright's own browser download cannot reach its servers here). Idempotent; never
# fails the build by itself: without Chromium the browser tests fail with a message that says to run
# this script.
set -u
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh"
apt_install ensure-chromium chromium fonts-dejavu-core
exit 0
