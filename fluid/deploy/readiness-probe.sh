#!/bin/sh
# Readiness of the Curvine FUSE mount in a Fluid ThinRuntime FUSE pod.
#
# Ready only when the target is a mount point of this mount namespace and its
# FUSE server answers: a mount whose server died fails statfs() with
# "Transport endpoint is not connected" and is reported as dead. (statfs, not
# stat: the kernel may answer stat from its cache after the server is gone.)
#
# Usage: readiness-probe.sh [TARGET]
#   TARGET defaults to mnt_path in $CURVINE_CONF_FILE, else in
#   ${CURVINE_HOME:-/opt/curvine}/conf/curvine-cluster.toml.
#   CURVINE_PROBE_TIMEOUT (seconds, default 5) bounds each look at the mount.
set -u
# The messages matched below are the C locale's.
export LC_ALL=C

target="${1:-}"
conf="${CURVINE_CONF_FILE:-${CURVINE_HOME:-/opt/curvine}/conf/curvine-cluster.toml}"
if [ -z "$target" ] && command -v python3 >/dev/null 2>&1; then
    # A TOML reader undoes the escapes a path with quotes or backslashes gets.
    target=$(python3 -c 'import sys, tomllib
with open(sys.argv[1], "rb") as f:
    print(tomllib.load(f).get("fuse", {}).get("mnt_path", ""))' "$conf" 2>/dev/null)
fi
if [ -z "$target" ]; then
    target=$(sed -n 's/^mnt_path = "\(.*\)"$/\1/p' "$conf" 2>/dev/null | head -n 1)
fi
if [ -z "$target" ]; then
    echo "not ready: no target given and no mnt_path in $conf"
    exit 1
fi
limit="${CURVINE_PROBE_TIMEOUT:-5}"

if ! err=$(timeout "$limit" stat -f -c %T -- "$target" 2>&1 >/dev/null); then
    case "$err" in
        *"No such file or directory"*) echo "not ready: $target does not exist" ;;
        *) echo "not ready: dead or hung mount at $target: ${err:-no answer within ${limit}s}" ;;
    esac
    exit 1
fi

# /proc/self/mountinfo writes space, tab, newline and backslash as octal escapes.
escaped=$(printf '%s' "$target" | sed -e 's/\\/\\134/g' -e 's/ /\\040/g' -e 's/	/\\011/g')
if ! MOUNT_POINT="$escaped" awk '$5 == ENVIRON["MOUNT_POINT"] { found = 1 }
        END { exit !found }' /proc/self/mountinfo; then
    echo "not ready: $target is not mounted"
    exit 1
fi

if ! err=$(timeout "$limit" ls -A -- "$target" 2>&1 >/dev/null); then
    echo "not ready: $target does not list: ${err:-no answer within ${limit}s}"
    exit 1
fi
echo "ready: $target"
