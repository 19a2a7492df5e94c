#!/bin/bash
# tools/demo.sh - build conf-engine and run a scheduled conference on SQLite with simulated callers
#
#   tools/demo.sh              install packages, build in _build-demo/, run the demo
#   CE_DEMO_SKIP_DEPS=1 ...    do not run tools/install-deps.sh (packages already there)
#
# What it does: a fresh SQLite database in _build-demo/demo/, a conference on
# access number 800 (PIN 1234, moderator PIN 9999) that starts now and lasts
# about 20 s, with three participants to dial out: 9001 is a phone that
# answers, 9002 is busy, 9003 is routed to wave/play/FILE (a Yate local
# channel, which connects at once and never sends call.answered).  conf-engine
# runs under the router simulator (tests/sim/yate-sim, a Yate stand-in
# speaking the real protocol and RTP); three callers with espeak-ng voices dial
# 800 with a PIN (Alice with the moderator's), one with a wrong PIN.  At the
# end the schedule drops every leg.  Then the demo prints the events and CDRs
# the engine stored (who each participant is: conference, participant id,
# role, number, name, number called or dialled, direction) and where the
# recording is.  Exit status 0 only when the conference really ran: callers
# admitted, audio mixed (each caller heard the others), events stored.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

say() { printf '\n=== %s\n' "$*"; }

if [ -z "${CE_DEMO_SKIP_DEPS:-}" ]; then
	tools/install-deps.sh
fi
say "build (_build-demo/)"
./autogen.sh >/dev/null 2>&1 || { echo "demo: autogen.sh failed" >&2; exit 1; }
mkdir -p _build-demo
(cd _build-demo && ../configure -q >/dev/null)
make -C _build-demo -j"${CE_JOBS:-2}" >_build-demo/build.log 2>&1 ||
	{ tail -40 _build-demo/build.log; echo "demo: build failed" >&2; exit 1; }
echo "built _build-demo/conf-engine/conf-engine and _build-demo/tests/sim/yate-sim"

work=$top/_build-demo/demo
rm -rf "$work"
mkdir -p "$work"
db=$work/conf-engine.db

say "database $db"
for f in sql/sqlite/[0-9]*.sql; do
	sqlite3 "$db" "BEGIN; $(cat "$f") COMMIT;"
done
now=$(date +%s)
sqlite3 "$db" "
INSERT INTO conferences (access_number, room, title, pin, moderator_pin, starts_at, ends_at,
	time_zone, early_join_s, end_alert_s, max_participants, record, record_file)
VALUES ('800', 'demo', 'Demo conference', '1234', '9999', $((now + 4)) * 1000000,
	$((now + 24)) * 1000000, 'UTC', 300, 8, 10, 1, '$work/demo-recording.wav');
INSERT INTO participants (conference_id, name, address, role, dial_out)
SELECT id, 'Dana Dialled', '9001', 'participant', 1 FROM conferences WHERE room = 'demo';
INSERT INTO participants (conference_id, name, address, role, dial_out)
SELECT id, 'Eli Busy', '9002', 'participant', 1 FROM conferences WHERE room = 'demo';
INSERT INTO participants (conference_id, name, address, role, dial_out)
SELECT id, 'Wally Wave', '9003', 'participant', 1 FROM conferences WHERE room = 'demo';"
sqlite3 -header -column "$db" "SELECT id, access_number, room, title, pin, moderator_pin,
	datetime(starts_at / 1000000, 'unixepoch') AS starts_utc,
	datetime(ends_at / 1000000, 'unixepoch') AS ends_utc, end_alert_s FROM conferences;"

say "voices (espeak-ng)"
voice() { # NAME TEXT
	if ! espeak-ng -s 150 -w "$work/$1.wav" "$2" 2>/dev/null; then
		cp tests/data/sim/speech.wav "$work/$1.wav"
	fi
	echo "$work/$1.wav"
}
voice alice "Good morning everyone. This is Alice. Let us start with the budget for next year."
voice bruno "Hello, Bruno here. I have the numbers from the sales team ready to share."
voice chen "Hi, this is Chen. I can hear you both very well. Shall we begin?"
voice dana "Dana speaking, I was called in by the conference. Thanks for dialling me."
voice wally "This is a recorded message, played by Yate's wave channel to the conference."

cat >"$work/conf-engine.conf" <<EOF
[general]
node=demo
[store]
sqlite_path=$db
spool_dir=$work/spool
[schedule]
tick=200
poll_interval=1
dial_retries=0
[monitor]
event_log=$work/events.jsonl
cdr_delay=1000
[conference]
prompts_dir=$top/conf/prompts
record_dir=$work
EOF
cat >"$work/demo.scn" <<EOF
# callers dial 800 with the PIN as a call parameter; 9001-9003 are the dial-out targets
route ^800\$ schedule/800
callee 9001 answer delay=1 play=$work/dana.wav name=Dana
callee 9002 busy
route ^9003\$ wave/play/$work/wally.wav autorepeat=true
at 0.5 call 1001 800 param.pin=9999 name=Alice play=$work/alice.wav record=alice-heard.wav
at 1.0 call 1002 800 param.pin=1234 name=Bruno play=$work/bruno.wav
at 1.5 call 1003 800 param.pin=1234 name=Chen play=$work/chen.wav
at 2.0 call 1004 800 param.pin=0000 name=Mallory
at 12 expect state 1001 answered
at 12 expect state 1002 answered
at 12 expect state 1003 answered
at 12 expect audio 1001 window=4000
at 12 expect audio 1003 window=4000
at 12 expect event rejected who=1004 error=forbidden
at 26 expect state 1001 hungup
end 27
EOF

say "running conf-engine under yate-sim for about 25 s"
status=0
(cd "$work" && "$top/_build-demo/tests/sim/yate-sim" -e sim-events.jsonl -t transcript.txt \
	demo.scn -- "$top/_build-demo/conf-engine/conf-engine" --config "$work/conf-engine.conf") ||
	status=$?
grep -h '"ev":"stderr"' "$work/sim-events.jsonl" | sed -n 's/.*"text":"\([^"]*\)".*/  engine: \1/p' |
	grep -E 'schedule|dial|refused|admitted|ended' || true
grep -h '"ev":"expect"' "$work/sim-events.jsonl" | sed -n 's/.*"what":"\([^"]*\)".*"detail":"\([^"]*\)".*/  expect \1: \2/p'

say "events (SQLite table events)"
sqlite3 -header -column "$db" "SELECT strftime('%H:%M:%f', at / 1000000.0, 'unixepoch') AS at,
	kind, room, coalesce(conference_id, '') AS conf, coalesce(leg, '') AS leg,
	coalesce(participant_id, '') AS pid, coalesce(role, '') AS role,
	coalesce(caller, '') AS caller, coalesce(caller_name, '') AS name,
	coalesce(called, '') AS called, coalesce(direction, '') AS dir,
	coalesce(detail, '') AS detail FROM events ORDER BY id;"

say "CDRs (SQLite table cdrs)"
sqlite3 -header -column "$db" "SELECT room, coalesce(conference_id, '') AS conf, leg,
	coalesce(participant_id, '') AS pid, coalesce(role, '') AS role, caller,
	coalesce(caller_name, '') AS name, coalesce(called, '') AS called,
	coalesce(direction, '') AS dir, duration_ms, talk_ms, reason FROM cdrs ORDER BY joined_at;"

say "recording"
if [ -s "$work/demo-recording.wav" ]; then
	echo "the room's mix: $work/demo-recording.wav"
else
	echo "missing: the conference asked for $work/demo-recording.wav (record=); the engine's"
	echo "log in $work/sim-events.jsonl says why; what Alice heard is in $work/alice-heard.wav"
fi
echo "event log (JSON lines): $work/events.jsonl; protocol transcript: $work/transcript.txt"

say "verdict"
entered=$(sqlite3 "$db" "SELECT count(*) FROM events WHERE kind = 'enter' AND room = 'demo';")
total=$(sqlite3 "$db" "SELECT count(*) FROM events;")
ended=$(sqlite3 "$db" "SELECT count(*) FROM events WHERE kind = 'end' AND detail = 'schedule-ended';")
echo "simulator status $status (0: every expectation held, so the callers heard each other);"
recorded=$([ -s "$work/demo-recording.wav" ] && echo yes || echo no)
echo "$entered participants entered, $total events stored, end on schedule recorded: $ended," \
	"room recorded: $recorded"
if [ "$status" -eq 0 ] && [ "$entered" -ge 3 ] && [ "$total" -gt 0 ] && [ "$ended" -ge 1 ] &&
	[ "$recorded" = yes ]; then
	echo "demo: OK"
	exit 0
fi
echo "demo: FAILED"
exit 1
