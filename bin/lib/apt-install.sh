# Sourced by the ensure-*.sh scripts: `apt_install WHO PACKAGE...` installs Debian packages with
# apt-get (through `sudo -n` when not root). Never fails the build by itself: when it cannot
# install, it says why on stderr and returns 0, and the test that needs the program fails with a
# message naming the script to run.
apt_install() {
  local who="$1"
  shift
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$who: no apt-get here; install $* yourself" >&2
    return 0
  fi
  local sudo_cmd=""
  if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then sudo_cmd="sudo -n"; else
      echo "$who: not root and no sudo; cannot install $*" >&2
      return 0
    fi
  fi
  echo "$who: installing $* from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq >&2 || true
  $sudo_cmd apt-get install -y -qq --no-install-recommends "$@" >&2 ||
    echo "$who: apt-get install $* failed" >&2
  return 0
}
