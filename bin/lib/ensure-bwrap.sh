#!/usr/bin/env bash
# bubblewrap (`bwrap`) for the sandbox tests: bash runs in a real one.
set -u
bash "$(dirname "${BASH_SOURCE[0]}")/ensure-debian-packages.sh" bwrap:bubblewrap
exit 0
