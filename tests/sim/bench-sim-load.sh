#!/bin/sh
# bench-sim-load.sh - how many RTP legs one yate-sim thread carries: LEGS callers, SECONDS long.
#   tests/sim/bench-sim-load.sh [LEGS] [SECONDS]      (run from the build folder, or set YATE_SIM)
#   SIM_ARGS=--rtp-shared tests/sim/bench-sim-load.sh 2500 10     (load mode: one batched socket)
# The echo module in --pair mode points each pair of legs at each other, so the simulator
# sends and receives every packet itself.  Prints legs, packets/s each way, loss, CPU.
set -eu
legs=${1:-1000}
secs=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
sim=${YATE_SIM:-./tests/sim/yate-sim}
dir=$(mktemp -d /tmp/yate-sim-load.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT; echo "run folder: $dir" >&2
ramp=$(( legs / 500 + 1 ))
cat >"$dir/load.scn" <<SCN
route ^800\$ conf/load
at 0 calls $legs 100000 800 rate=$(( legs / ramp + 1 )) play=tone:440
at $(( ramp + 2 )) log steady
at $(( ramp + 2 + secs )) log done
end $(( ramp + 3 + secs ))
SCN
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
/usr/bin/time -f '%U %S %e' -o "$dir/time" "$sim" ${SIM_ARGS:-} --ready-max 5 -e "$dir/ev.jsonl" \
	"$dir/load.scn" -- python3 "$here/echo-module.py" --pair 2>"$dir/err" || { cat "$dir/err"; exit 1; }
python3 - "$dir/ev.jsonl" "$dir/time" "$legs" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
user, sys_, wall = map(float, open(sys.argv[2]).read().split()[-3:])
st = [e for e in ev if e['ev'] == 'rtp-stats']
t0 = [e['t'] for e in ev if e['ev'] == 'log' and e['text'] == 'steady'][0]
t1 = [e['t'] for e in ev if e['ev'] == 'log' and e['text'] == 'done'][0]
tx, rx, lost = (sum(e[k] for e in st) for k in ('tx', 'rx', 'rx_lost'))
legs = len(st)
print('legs %d (asked %s), run %.1f s wall, %.1f s steady' % (legs, sys.argv[3], wall, t1 - t0))
print('packets: tx %d, rx %d, lost %d (%.3f%%)' % (tx, rx, lost, 100.0 * lost / max(1, tx)))
print('cpu: user %.2f s + sys %.2f s = %.1f%% of one core over the run (both processes)' %
      (user, sys_, 100 * (user + sys_) / wall))
end = [e for e in ev if e['ev'] == 'end'][0]
print('clock: %d ticks, %d late, %d skipped' % (end['ticks'], end['late_ticks'], end['lost_ticks']))
PY
