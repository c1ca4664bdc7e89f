# Sourced by bin/dispatch and bin/test: puts a pinned Bun on PATH and installs dependencies.
# Idempotent; quiet when there is nothing to do. Logs go to stderr so stdout stays the command's own.
BUN_VERSION="1.4.5"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools_dir="$repo_root/.tools"

ensure_bun() {
  if [ -x "$tools_dir/node_modules/.bin/bun" ]; then
    export PATH="$tools_dir/node_modules/.bin:$PATH"
  fi
  if command -v bun >/dev/null 2>&1; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "dispatch: neither bun nor npm is on PATH; install Node.js (with npm) or Bun ${BUN_VERSION}" >&2
    exit 1
  fi
  echo "dispatch: installing bun@${BUN_VERSION} from the npm registry into .tools/" >&2
  mkdir -p "$tools_dir"
  (cd "$tools_dir" && npm install --no-audit --no-fund --loglevel=error --prefix "$tools_dir" "bun@${BUN_VERSION}" >&2) || {
    echo "dispatch: could not install bun@${BUN_VERSION} with npm" >&2
    exit 1
  }
  export PATH="$tools_dir/node_modules/.bin:$PATH"
}

ensure_deps() {
  local marker="$repo_root/node_modules/.dispatch-lock"
  if [ -f "$marker" ] && cmp -s "$repo_root/bun.lock" "$marker"; then
    return 0
  fi
  echo "dispatch: bun install --frozen-lockfile" >&2
  (cd "$repo_root" && bun install --frozen-lockfile >&2) || {
    echo "dispatch: bun install failed" >&2
    exit 1
  }
  cp "$repo_root/bun.lock" "$marker"
}

ensure_bun
ensure_deps
