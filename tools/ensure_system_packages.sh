#!/bin/sh
# Installs the system packages `make test` needs (today: bubblewrap, the sandbox `course-grade`
# runs students' kernels in). Only where it can: as root on Debian/Ubuntu (CI, containers).
# Elsewhere it prints what to install; the sandbox tests then skip with the same message.
set -eu
missing=""
command -v bwrap >/dev/null 2>&1 || missing="$missing bubblewrap"
command -v setpriv >/dev/null 2>&1 || missing="$missing util-linux"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing$missing (the grading sandbox)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
else
    echo "note:$missing not installed; the grading sandbox tests will be skipped." >&2
    echo "      Install it (Debian/Ubuntu: sudo apt-get install$missing) to run them." >&2
fi
