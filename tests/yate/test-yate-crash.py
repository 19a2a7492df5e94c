#!/usr/bin/env python3
"""test-yate-crash.py - kill -9 of conf-engine with callers in a room, on a real Yate (TAP).

Three real callers (wavefile: each plays tone bursts and records what it
hears) are in conf/room01 when the engine is killed with SIGKILL; the third
hangs up right after.  Yate restarts the engine (it asked setlocal
restart=true) and keeps the callers' dumb/N channels, answered, with their
RTP.  The new engine reads its open-leg journal and asks Yate about each
leg (chan.locate): the two still there are dropped with reason
engine-restart, the third is closed with the same reason.  Checked here:
the callers heard each other before the crash, the two left are hung up
(nobody stays answered without a room, Yate has no dumb/N left), and the
SQLite store holds exactly one enter, one leave and one closed CDR per
participant, each CDR as long as that caller really was in the room.  A
new call is then taken into a room as usual.
"""
import os
import re
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


def bursts(freq, seconds):
    """Tone bursts (0.6 s on, 0.4 s off): what a talker looks like to a level meter."""
    out = []
    for _ in range(int(seconds)):
        out += yatelib.tone(freq, 0.6) + [0] * int(0.4 * yatelib.RATE)
    return out


def listed(y, room, users):
    out = y.rm('conf list')
    return re.search(r'name=conf/%s,[^\r\n]*users=%d' % (room, users), out) and out


def db_rows(y, sql, *args):
    db = sqlite3.connect(y.path('conf-engine.db'))
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


with yatelib.Yate(prefix, 'crash', engine='--config {conf}', routes=ROUTES,
                  engine_conf=ENGINE_CONF) as y:
    tap.yate = y
    tap.ok(y.wait_engine(), 'the engine is attached', y.log_tail())
    d = y.driver()
    d.watch('chan.hangup')
    chans, joined = {}, {}
    for who, freq in CALLERS:
        yatelib.write_slin(y.path('%s.slin' % who), bursts(freq, 60))
        chan, ans = d.call('801', play=y.path('%s.slin' % who),
                           record=y.path('heard-%s.slin' % who), caller='10' + who)
        joined[who] = time.time()
        chans[who] = chan
        tap.ok(bool(chan), '%s calls 801: the engine takes it into conf/room01' % who,
               '%r\n%s' % (ans, y.log_tail()))
    tap.ok(bool(yatelib.wait_for(lambda: listed(y, 'room01', 3))), 'conf/room01 has 3 callers',
           y.rm('conf list'))
    time.sleep(4)
    for who, freq in CALLERS:
        got = yatelib.read_slin(y.path('heard-%s.slin' % who))
        others = [f for w, f in CALLERS if w != who]
        tap.ok(all(h(got, f, 1, 4) > 0.1 for f in others) and h(got, freq, 1, 4) < 0.02,
               'before the crash %s hears the other two, not itself' % who,
               [(f, round(h(got, f, 1, 4), 3)) for _, f in CALLERS])

    # kill -9; C hangs up while the engine is down or starting
    pids = y.engine_pids()
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    killed = time.time()
    d.drop(chans['C'])
    gone_c = time.time()
    new = yatelib.wait_for(lambda: [p for p in y.engine_pids() if p not in pids], timeout=30)
    tap.ok(bool(new), 'Yate restarts the engine after kill -9', y.log_tail())
    # the legs (dumb/N) of each caller, as the store's enter events name them
    leg = dict((c[-1], l) for l, c in db_rows(
        y, "SELECT leg, caller FROM events WHERE room = 'room01' AND kind = 'enter'"))
    tap.ok(sorted(leg) == ['A', 'B', 'C'], 'SQLite: the enters of the three callers', leg)
    dropped = lambda w: d.reports_of('chan.hangup', id=leg.get(w, '-'))  # noqa: E731
    hung = yatelib.wait_for(lambda: dropped('A') and dropped('B'), timeout=yatelib.WAIT)
    ended = time.time()
    tap.ok(bool(hung), 'the new engine ends the calls of A and B (nobody stranded)',
           y.log_tail())
    tap.ok(hung and all(r.get('status') == 'engine-restart' for w in 'AB' for r in dropped(w)),
           'Yate dropped their dumb/N with reason engine-restart',
           [r.params for r in d.reports_of('chan.hangup')])
    tap.ok('closed 3 legs in 1 room of the previous engine' in y.log_text(),
           'the new engine says what it closed', y.log_tail())
    answers = [(w, d.request('chan.locate', {'id': leg[w]})) for w in sorted(leg)]
    alive = [w for w, a in answers if a is None or a.handled]
    tap.ok(len(answers) == 3 and not alive, 'Yate has none of their dumb/N channels left',
           (leg, alive))

    cdrs = yatelib.wait_for(lambda: len(db_rows(
        y, "SELECT 1 FROM cdrs WHERE room = 'room01'")) >= 3 and db_rows(
        y, "SELECT caller, reason, joined_at, left_at FROM cdrs WHERE room = 'room01'"),
        timeout=yatelib.WAIT) or []
    tap.ok(len(cdrs) == 3 and sorted(c[0] for c in cdrs) == ['10A', '10B', '10C'] and
           all(c[1] == 'engine-restart' for c in cdrs),
           'SQLite: exactly one CDR per participant, reason engine-restart', cdrs)
    # A and B were in until the new engine dropped them, C until the crash
    for caller, why, start, end in cdrs:
        who = caller[-1]
        real = ((ended if who != 'C' else killed) - joined[who]) * 1000
        ms = (end - start) / 1000
        tap.ok(abs(ms - real) < 1500,
               '%s: the CDR lasts %d ms, the time really spent in the call (%d ms)' %
               (who, ms, real))
    kinds = dict(db_rows(y, "SELECT kind, count(*) FROM events WHERE room = 'room01' "
                            "GROUP BY kind"))
    tap.ok(kinds.get('enter') == 3 and kinds.get('leave') == 3,
           'SQLite: three enters, three leaves (no second enter after the restart)', kinds)

    # the new engine serves calls as before
    chan, ans = d.call('802', caller='10D')
    tap.ok(bool(chan) and yatelib.wait_for(lambda: listed(y, 'room02', 1)),
           'the restarted engine takes a new call into conf/room02', ans)
    if chan:
        d.drop(chan)

tap.done()
