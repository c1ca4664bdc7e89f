#!/usr/bin/env bash
# Installs a systemd drop-in that caps the Dispatch unit's memory (MemoryMax, MemoryHigh).
# Idempotent: the file is only rewritten, and systemd only reloaded, when its content changes.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bin/apply-memory-limits.sh [--dry-run] [--unit NAME] [--max SIZE] [--high SIZE]

Writes <systemd dir>/<unit>.d/memory.conf with MemoryMax and MemoryHigh for the Dispatch unit,
then runs `systemctl daemon-reload` when the file changed.

  --dry-run     print the file path and content; change nothing
  --unit NAME   the unit to limit (default dispatch.service; ".service" is added when no suffix is given)
  --max SIZE    hard limit, MemoryMax (default 24G); SIZE is digits with an optional K, M, G or T suffix
  --high SIZE   throttling line, MemoryHigh (default 90% of --max, rounded down to whole MiB)
  -h, --help    show this help

Environment:
  DISPATCH_SYSTEMD_DIR  where unit drop-ins go (default /etc/systemd/system)
  DISPATCH_SYSTEMCTL    the systemctl to call (default: systemctl, when systemd is running)
EOF
}

die() {
  echo "apply-memory-limits: $*" >&2
  echo "Run with --help for usage." >&2
  exit 2
}

# Prints the byte count of a systemd size (1024-based suffixes), or fails.
size_to_bytes() {
  local option="$1" size="$2"
  if ! [[ "$size" =~ ^([0-9]{1,15})([KMGT]?)$ ]]; then
    die "$option: expected a size such as 24G or 512M (digits with an optional K, M, G or T suffix), got '$size'"
  fi
  local digits="${BASH_REMATCH[1]}" suffix="${BASH_REMATCH[2]}" shift_by=0
  case "$suffix" in
    K) shift_by=10 ;;
    M) shift_by=20 ;;
    G) shift_by=30 ;;
    T) shift_by=40 ;;
  esac
  local bytes=$((10#$digits << shift_by))
  ((bytes >> shift_by == 10#$digits)) || die "$option: too large, got '$size'"
  ((bytes > 0)) || die "$option: must be above 0, got '$size'"
  echo "$bytes"
}

dry_run=0
unit="dispatch.service"
max="24G"
high=""

need_value() {
  [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || die "$1 needs a value"
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --unit | --max | --high)
      need_value "$@"
      case "$1" in
        --unit) unit="$2" ;;
        --max) max="$2" ;;
        --high) high="$2" ;;
      esac
      shift
      ;;
    --unit=* | --max=* | --high=*)
      value="${1#*=}"
      [[ -n "$value" ]] || die "${1%%=*} needs a value"
      case "$1" in
        --unit=*) unit="$value" ;;
        --max=*) max="$value" ;;
        --high=*) high="$value" ;;
      esac
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown argument '$1'" ;;
  esac
  shift
done

# A unit name ends up in a path: allow systemd's characters only, and no leading dot.
if ! [[ "$unit" =~ ^[A-Za-z0-9_@:-][A-Za-z0-9_.@:-]*$ ]]; then
  die "--unit: expected a unit name such as dispatch.service, got '$unit'"
fi
[[ "$unit" == *.* ]] || unit="$unit.service"

max_bytes="$(size_to_bytes --max "$max")"
if [[ -z "$high" ]]; then
  high_bytes=$((max_bytes * 9 / 10))
  if ((high_bytes >= 1048576)); then
    high="$((high_bytes / 1048576))M"
  else
    high="$high_bytes"
  fi
fi
high_bytes="$(size_to_bytes --high "$high")"
((high_bytes <= max_bytes)) || die "--high ($high) must not be above --max ($max)"

dir="${DISPATCH_SYSTEMD_DIR:-/etc/systemd/system}/$unit.d"
file="$dir/memory.conf"
content="# Written by bin/apply-memory-limits.sh; rerun it to change these values.
[Service]
MemoryMax=$max
MemoryHigh=$high
"

if [[ -f "$file" ]] && printf '%s' "$content" | cmp -s - "$file"; then
  state="unchanged"
elif [[ -e "$file" ]]; then
  state="changed"
else
  state="new"
fi

if ((dry_run)); then
  echo "dry run: would write $file ($state)"
  printf '%s' "$content"
  if [[ "$state" != "unchanged" ]]; then
    echo "then: systemctl daemon-reload"
  fi
  exit 0
fi

if [[ "$state" == "unchanged" ]]; then
  echo "unchanged: $file"
  exit 0
fi

mkdir -p "$dir" 2>/dev/null || {
  echo "apply-memory-limits: cannot create $dir (run as root, or set DISPATCH_SYSTEMD_DIR)" >&2
  exit 1
}
tmp="$(mktemp "$dir/.memory.conf.XXXXXX" 2>/dev/null)" || {
  echo "apply-memory-limits: cannot write in $dir (run as root, or set DISPATCH_SYSTEMD_DIR)" >&2
  exit 1
}
trap 'rm -f "$tmp"' EXIT
printf '%s' "$content" >"$tmp"
chmod 0644 "$tmp"
# rename(2) is atomic: systemd never reads a half-written drop-in.
mv -f "$tmp" "$file"
trap - EXIT
echo "wrote $file: MemoryMax=$max MemoryHigh=$high"

systemctl_cmd=""
if [[ -n "${DISPATCH_SYSTEMCTL:-}" ]]; then
  systemctl_cmd="$DISPATCH_SYSTEMCTL"
elif command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
  systemctl_cmd="systemctl"
fi
if [[ -z "$systemctl_cmd" ]]; then
  echo "systemd is not running here; run 'systemctl daemon-reload' on the target machine"
  exit 0
fi
"$systemctl_cmd" daemon-reload || {
  echo "apply-memory-limits: wrote $file but '$systemctl_cmd daemon-reload' failed; run it by hand" >&2
  exit 1
}
echo "reloaded systemd; restart $unit to be sure the limits apply, then check:"
echo "  systemctl show $unit -p MemoryMax -p MemoryHigh"
