#!/usr/bin/env bash
# tmux for CLI agents and their tests (a real tmux on its own socket).
set -u
exec bash "$(dirname "${BASH_SOURCE[0]}")/ensure-debian-packages.sh" tmux:tmux
