#!/usr/bin/env python3
"""test-yate-crash.py - kill -9 of conf-engine with callers in a room, on a real Yate (TAP).

Three real callers (wavefile: each plays tone bursts and records what it
hears) are in conf/room01; the engine is stopped (SIGSTOP), the third
caller hangs up, and the engine is killed (SIGKILL).  Yate restarts the
engine (it asked setlocal restart=true) and keeps the callers' dumb/N
channels, answered, with their RTP.  The new engine reads its open-leg
journal and asks Yate about each leg (chan.locate): the two still there
are resumed in their room, on the port Yate sends their RTP to, and hear
each other again (their recordings after the restart are analysed); the
third is closed with reason engine-restart.  When they hang up, the SQLite
store holds exactly one enter, one leave and one closed CDR per
participant, each as long as that caller really was in the room (the
crash included), and Yate has none of their dumb/N left.  A new call is
then taken into a room as usual.
"""
import os
import signal
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yatelib  # noqa: E402

tap = yatelib.Checked()
prefix = yatelib.require(tap)
h = yatelib.heard
ROUTES = [r'^8\(..\)$=conf/room\1;notify=conf-monitor/room\1;lonely=true']
ENGINE_CONF = '[conference]\nenter_prompt=\nleave_prompt=\nlonely_prompt=\n'
CALLERS = (('A', 440), ('B', 1000), ('C', 700))


def db_rows(y, sql, *args):
    db = sqlite3.connect(y.path('conf-engine.db'))
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


# a stopped engine holds Yate's call.drop for extmodule's timeout: 2 s, not 10
with yatelib.Yate(prefix, 'crash', engine='--config {conf}', routes=ROUTES,
                  engine_conf=ENGINE_CONF, ext_general='timeout=2000') as y:
    tap.yate = y
    tap.ok(y.wait_engine(), 'the engine is attached', y.log_tail())
    d = y.driver()
    d.watch('chan.hangup')
    chans, joined = {}, {}
    for who, freq in CALLERS:
        yatelib.write_slin(y.path('%s.slin' % who), yatelib.bursts(freq, 60))
        chan, ans = d.call('801', play=y.path('%s.slin' % who),
                           record=y.path('heard-%s.slin' % who), caller='10' + who)
        joined[who] = time.time()
        chans[who] = chan
        tap.ok(bool(chan), '%s calls 801: the engine takes it into conf/room01' % who,
               '%r\n%s' % (ans, y.log_tail()))
    tap.ok(bool(yatelib.wait_for(lambda: y.room_listed('room01', 3))),
           'conf/room01 has 3 callers', y.rm('conf list'))
    time.sleep(4)
    for who, freq in CALLERS:
        got = yatelib.read_slin(y.path('heard-%s.slin' % who))
        others = [f for w, f in CALLERS if w != who]
        tap.ok(all(h(got, f, 1, 4) > 0.1 for f in others) and h(got, freq, 1, 4) < 0.02,
               'before the crash %s hears the other two, not itself' % who,
               [(f, round(h(got, f, 1, 4), 3)) for _, f in CALLERS])

    # the store's enter events name each caller's leg (dumb/N)
    leg = dict((c[-1], l) for l, c in db_rows(
        y, "SELECT leg, caller FROM events WHERE room = 'room01' AND kind = 'enter'"))
    tap.ok(sorted(leg) == ['A', 'B', 'C'], 'SQLite: the enters of the three callers', leg)

    # C hangs up while the engine cannot hear it (stopped), then the engine is killed
    pids = y.engine_pids()
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    stopped = time.time()
    d.drop(chans['C'])
    tap.ok(bool(d.wait_seen('chan.hangup', id=leg.get('C', '-'))),
           'C hangs up while the engine is stopped', y.log_tail())
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    new = yatelib.wait_for(lambda: [p for p in y.engine_pids() if p not in pids], timeout=30)
    tap.ok(bool(new), 'Yate restarts the engine after kill -9', y.log_tail())
    took = yatelib.wait_for(lambda: 'took over 3 legs in 1 room of the previous engine: '
                            '2 resumed in their rooms, 0 dropped and 1 already gone'
                            in y.log_text())
    tap.ok(bool(took), 'the new engine resumes A and B and closes C', y.log_tail())
    tap.ok(not d.reports_of('chan.hangup', id=leg.get('A')) and
           not d.reports_of('chan.hangup', id=leg.get('B')) and
           bool(yatelib.wait_for(lambda: y.room_listed('room01', 2))),
           'A and B are in conf/room01 again, their calls up', y.rm('conf list'))

    # what they hear from 1 s after the restart on (their recordings grow from there)
    time.sleep(1)
    start = {w: len(yatelib.read_slin(y.path('heard-%s.slin' % w))) for w in 'AB'}
    yatelib.wait_for(lambda: all(len(yatelib.read_slin(y.path('heard-%s.slin' % w))) >=
                                 start[w] + 3 * yatelib.RATE for w in 'AB'))
    for who, freq, other in (('A', 440, 1000), ('B', 1000, 440)):
        got = yatelib.read_slin(y.path('heard-%s.slin' % who))[start[who]:]
        tap.ok(len(got) >= 3 * yatelib.RATE and h(got, other) > 0.5 and h(got, freq) < 0.02,
               'after the restart %s hears %s (%d Hz) again, not itself' %
               (who, 'B' if who == 'A' else 'A', other),
               (len(got), round(h(got, other), 3), round(h(got, freq), 3)))

    # they hang up; each has one CDR, as long as the call really was, the crash included
    for w in 'AB':
        d.drop(chans[w])
    ended = time.time()
    cdrs = yatelib.wait_for(lambda: len(db_rows(
        y, "SELECT 1 FROM cdrs WHERE room = 'room01'")) >= 3 and db_rows(
        y, "SELECT caller, reason, joined_at, left_at FROM cdrs WHERE room = 'room01'"),
        timeout=yatelib.WAIT) or []
    reasons = dict((c[0][-1], c[1]) for c in cdrs)
    tap.ok(len(cdrs) == 3 and sorted(reasons) == ['A', 'B', 'C'] and
           reasons['C'] == 'engine-restart' and reasons['A'] != 'engine-restart' and
           reasons['B'] != 'engine-restart',
           'SQLite: exactly one CDR per participant (C: engine-restart)', cdrs)
    # A and B until they hung up, C until the old engine was last alive (it was stopped)
    for caller, why, start_us, end_us in cdrs:
        who = caller[-1]
        real = ((ended if who != 'C' else stopped) - joined[who]) * 1000
        ms = (end_us - start_us) / 1000
        tap.ok(abs(ms - real) < 1000,
               '%s: the CDR lasts %d ms, the time really spent in the call (%d ms)' %
               (who, ms, real))
    kinds = dict(db_rows(y, "SELECT kind, count(*) FROM events WHERE room = 'room01' "
                            "GROUP BY kind"))
    tap.ok(kinds.get('enter') == 3 and kinds.get('leave') == 3,
           'SQLite: three enters, three leaves (no second enter after the restart)', kinds)
    answers = [(w, d.request('chan.locate', {'id': leg[w]})) for w in sorted(leg)]
    alive = [w for w, a in answers if a is None or a.handled]
    tap.ok(len(answers) == 3 and not alive, 'Yate has none of their dumb/N channels left',
           (leg, alive))

    # the new engine serves calls as before
    chan, ans = d.call('802', caller='10D')
    tap.ok(bool(chan) and yatelib.wait_for(lambda: y.room_listed('room02', 1)),
           'the restarted engine takes a new call into conf/room02', ans)
    if chan:
        d.drop(chan)

tap.done()
