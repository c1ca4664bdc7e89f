# Sourced by bin/dispatch and bin/test: puts the pinned Bun on PATH and installs dependencies.
# Idempotent and quiet when there is nothing to do. Messages go to stderr so stdout stays the command's own.
# Needs either Bun ${BUN_VERSION} on PATH or Node.js with npm (Bun is then fetched from the npm registry).
BUN_VERSION="1.4.5"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools_dir="$repo_root/.tools"
tools_bin="$tools_dir/node_modules/.bin"

bun_version_of() {
  "$1" --version 2>/dev/null || true
}

ensure_bun() {
  # the copy in .tools/ is ours and pinned; a bun already on PATH is used only if it is the same version
  if [ -x "$tools_bin/bun" ] && [ "$(bun_version_of "$tools_bin/bun")" = "$BUN_VERSION" ]; then
    export PATH="$tools_bin:$PATH"
    return 0
  fi
  if command -v bun >/dev/null 2>&1 && [ "$(bun_version_of "$(command -v bun)")" = "$BUN_VERSION" ]; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "dispatch: Bun ${BUN_VERSION} is not on PATH and there is no npm to fetch it; install Node.js (with npm) or Bun ${BUN_VERSION}" >&2
    exit 1
  fi
  echo "dispatch: installing bun@${BUN_VERSION} from the npm registry into .tools/ (once)" >&2
  mkdir -p "$tools_dir"
  if ! npm install --no-audit --no-fund --no-save --loglevel=error --prefix "$tools_dir" "bun@${BUN_VERSION}" >&2; then
    echo "dispatch: could not install bun@${BUN_VERSION} with npm" >&2
    exit 1
  fi
  if [ "$(bun_version_of "$tools_bin/bun")" != "$BUN_VERSION" ]; then
    echo "dispatch: $tools_bin/bun does not run or is not ${BUN_VERSION}; remove .tools/ and try again" >&2
    exit 1
  fi
  export PATH="$tools_bin:$PATH"
}

# What the installed node_modules were made from: the lockfile and every workspace manifest.
deps_fingerprint() {
  (cd "$repo_root" && cat bun.lock package.json packages/*/package.json examples/*/package.json 2>/dev/null) | cksum
}

ensure_deps() {
  local marker="$repo_root/node_modules/.dispatch-deps"
  local fingerprint
  fingerprint="$(deps_fingerprint)"
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$fingerprint" ]; then
    return 0
  fi
  echo "dispatch: bun install --frozen-lockfile" >&2
  if ! (cd "$repo_root" && bun install --frozen-lockfile >&2); then
    echo "dispatch: bun install failed (if you changed a package.json, run 'bun install' and commit bun.lock)" >&2
    exit 1
  fi
  printf '%s\n' "$fingerprint" >"$marker"
}

# The dashboard's bundle (packages/dashboard/dist), built with Bun's bundler when its sources or its
# build script changed. The check is a cksum in the shell, so a current bundle costs no Bun start.
ensure_dashboard() {
  local dist="$repo_root/packages/dashboard/dist"
  local fingerprint
  fingerprint="$(cd "$repo_root/packages/dashboard" && find web src/build.ts src/build-cli.ts node_modules/preact/package.json -type f 2>/dev/null | LC_ALL=C sort | xargs cat | cksum)"
  if [ -f "$dist/.fingerprint" ] && [ "$(cat "$dist/.fingerprint")" = "$fingerprint" ]; then
    return 0
  fi
  if (cd "$repo_root" && bun packages/dashboard/src/build-cli.ts >&2); then
    printf '%s\n' "$fingerprint" >"$dist/.fingerprint"
  else
    echo "dispatch: building the dashboard failed (the host then builds it in memory at start-up)" >&2
  fi
}

ensure_bun
ensure_deps
ensure_dashboard
