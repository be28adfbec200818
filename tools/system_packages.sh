#!/usr/bin/env bash
# Install Debian packages the tests need (e.g. chromium for the browser test) when they are missing.
# Only where it can: as root on Debian/Ubuntu (CI, containers). Elsewhere it says what is missing and
# exits 0; the tests that need the package then skip with a message.
# Usage: tools/system_packages.sh <command>=<package> ...   e.g. chromium=chromium, py:ensurepip=python3-venv
set -uo pipefail
missing=()
for spec in "$@"; do
    cmd="${spec%%=*}"; pkg="${spec#*=}"
    if [[ "$cmd" == py:* ]]; then  # py:MODULE -- a module of Debian's own python3 (py:ensurepip = python3-venv)
        [ ! -x /usr/bin/python3 ] || /usr/bin/python3 -c "import ${cmd#py:}" >/dev/null 2>&1 || missing+=("$pkg")
    else
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null \
        || { echo "error: apt-get install ${missing[*]} failed" >&2; exit 1; }
else
    echo "note: missing ${missing[*]} (not root on Debian, so not installed); tests that need them will be skipped"
fi
