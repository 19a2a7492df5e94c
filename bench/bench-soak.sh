#!/bin/sh
# bench-soak.sh - memory soak: conf-engine under steady RTP load for SECONDS, RSS per participant every minute.
#   bench/bench-soak.sh [SECONDS] [PARTICIPANTS] [extra bench-e2e.py options]   (from the build folder)
#   bench/bench-soak.sh 3600 2500          # the design's one-hour soak
# Rooms of 20 with 3 speech talkers (one room in ten a probe room), and every
# 10 s CHURN (default 10) silent listeners leave and as many new callers join,
# so that leaks on join and leave show in the slope.  Prints per minute the
# engine's VmRSS, KiB per participant and the least-squares slope in KiB per
# participant per hour, then the end-to-end figures of the whole soak.
set -eu
secs=${1:-300}
n=${2:-2500}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/bench-e2e.py" -n "$n" -r 20 -t 3 --churn "${CHURN:-10}" --soak "$secs" --every 60 "$@"
