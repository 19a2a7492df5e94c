#!/usr/bin/env python3
"""test-yate-connect.py - conf-engine on Yate's extmodule listener (--connect unix:) while Yate restarts under it (TAP).

The engine runs as its own service: Yate has no [scripts] entry for it but
a `[listener ce]` unix socket (no role=: the engine's first line
`%%>connect:global` makes it a global module), and the test starts
`conf-engine --connect unix:SOCK`.  Real callers (wavefile: each plays tone
bursts and records what it hears) are routed by regexroute into conf/ rooms.
Then Yate goes away under the running engine, three ways:
  1. SIGTERM and at once started again: the legs of the old Yate leave their
     room as yate-restart (their calls died with it) once the engine is back
     and learns Yate's new run id;
  2. SIGKILL and 6 s without Yate: the engine stays up, retries with a
     growing back-off, and closes the legs as link-lost when their audio
     has stopped for rtp_timeout (3 s here), before Yate is back;
  3. SIGKILL and at once started again: yate-restart again.
After each return the engine's handlers are back: new callers are taken into
a new room and hear each other.  The event log and the SQLite CDRs say what
became of every leg (reason, a duration that does not count the outage),
and the engine's log says it to an operator in one line per event.
Last, with `role=global` on the listener, Yate answers `%%>connect:global`
with `Error in:` (a warning in both logs) and the session works all the same.
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
RTP_TIMEOUT_MS = 3000
ROUTES = [r'^8\(..\)$=conf/room\1;notify=conf-monitor/room\1']
ENGINE_CONF = ('[general]\nreconnect_min=200\nreconnect_max=1600\n'
               '[conference]\nrtp_timeout=%d\n' % RTP_TIMEOUT_MS)


def room_of_two(y, number, callers):
    """Two callers ((name, Hz), ...) into 8@number; True once the engine lists them."""
    d = y.driver()
    room = 'room' + number[1:]
    for who, freq in callers:
        yatelib.write_slin(y.path('%s.slin' % who), yatelib.bursts(freq, 60))
        chan, ans = d.call(number, play=y.path('%s.slin' % who),
                           record=y.path('heard-%s.slin' % who), caller='10' + who)
        tap.ok(bool(chan), '%s calls %s: Yate routes it and the engine takes it' % (who, number),
               '%r\n%s' % (ans, y.engine_log_text()[-2000:]))
    both = yatelib.wait_for(lambda: y.room_listed(room, 2))
    tap.ok(bool(both), 'conf/%s has both callers' % room, y.rm('conf list'))
    return room


def hear_each_other(callers):
    """Each of two callers hears the other's tone and not its own (simlib.who_hears)."""
    for (me, mine), (other, theirs) in (callers, callers[::-1]):
        heard = yatelib.read_slin(y.path('heard-%s.slin' % me))
        ok, levels = yatelib.simlib.who_hears(heard, [theirs], [mine])
        tap.ok(ok, '%s hears %s (%d Hz), not itself' % (me, other, theirs), (levels, len(heard)))


def closed(y, room, reason, talked_s):
    """The event log: both legs of @room left for @reason, room destroyed, CDRs written."""
    def done():
        ev = [e for e in y.events() if e.get('room') == room]
        cdrs = [e for e in ev if e.get('type') == 'cdr']
        return len(cdrs) >= 2 and ev
    ev = yatelib.wait_for(done) or [e for e in y.events() if e.get('room') == room]
    leaves = [e for e in ev if e.get('event') == 'leave']
    cdrs = [e for e in ev if e.get('type') == 'cdr']
    tap.ok(len(leaves) == 2 and all(e.get('reason') == reason for e in leaves),
           'conf/%s: both legs leave with reason %s' % (room, reason), leaves)
    tap.ok(any(e.get('event') == 'destroyed' for e in ev), 'conf/%s is destroyed' % room, ev)
    # they talked at least talked_s before Yate went; what follows the loss is not counted
    tap.ok(len(cdrs) == 2 and all(e.get('reason') == reason and
                                  talked_s * 1000 <= e.get('duration_ms', 0) for e in cdrs),
           'conf/%s: two CDRs, reason %s, at least the %d s they talked' % (room, reason, talked_s),
           cdrs)
    return cdrs


def engine_says(y, text, after=0):
    """True once the engine's log holds @text past offset @after."""
    return bool(yatelib.wait_for(lambda: text in y.engine_log_text()[after:]))


with yatelib.Yate(prefix, 'connect', start_engine=False, engine_listener='', routes=ROUTES,
                  engine_conf=ENGINE_CONF) as y:
    tap.yate = y
    engine = y.connect_engine()
    tap.ok(y.wait_engine(), 'conf-engine --connect unix: attaches: the console answers',
           y.engine_log_text())
    status = y.engine_status()
    tap.ok('link=unix,linkstate=up,yate=6.4.1' in status, 'its status shows the unix link up',
           status)
    tap.ok("error: '%%>connect:global'" not in y.log_text(),
           'no role= on the listener: Yate takes %%>connect:global without a word', y.log_tail())

    # 1. SIGTERM, started again at once
    first = (('A', 440), ('B', 1000))
    room1 = room_of_two(y, '801', first)
    time.sleep(4)
    mark = len(y.engine_log_text())
    y.restart()
    hear_each_other(first)
    tap.ok(engine_says(y, 'Yate was restarted: closed 2 legs in 1 room (reason yate-restart)',
                       mark),
           'after SIGTERM and a restart of Yate the engine says it closed 2 legs in 1 room',
           y.engine_log_text()[mark:])
    tap.ok(y.wait_engine(), 'the engine is attached to the new Yate', y.engine_log_text()[mark:])
    closed(y, room1, 'yate-restart', 3)
    tap.ok('conf/' + room1 not in y.rm('conf list'), 'conf/%s is gone from the console' % room1,
           y.rm('conf list'))

    # 2. SIGKILL, 6 s without Yate: link-lost while it is away
    second = (('C', 600), ('D', 1400))
    room2 = room_of_two(y, '802', second)
    time.sleep(4)
    mark = len(y.engine_log_text())
    y.halt(kill=True)
    killed = time.monotonic()
    # Yate stays away until then: the wait is bounded, its outcome is not a race
    gone = yatelib.wait_for(lambda: len([e for e in y.events() if e.get('room') == room2 and
                                         e.get('event') == 'leave']) == 2)
    time.sleep(max(0, killed + 6 - time.monotonic()))
    away = y.engine_log_text()[mark:]
    tap.ok(engine.poll() is None, 'the engine stays up while no Yate is there', away)
    tap.ok(bool(gone), 'while Yate is away the legs whose audio stopped leave', y.events()[-6:])
    delays = [int(n) for n in re.findall(r'next connection attempt to \S+ in (\d+) ms', away)]
    tap.ok(len(delays) >= 3 and delays[:3] == [200, 400, 800] and max(delays) <= 1600,
           'it retries with a doubling back-off, capped at reconnect_max', delays)
    tap.ok('link to Yate lost with 2 legs in 1 room' in away,
           'the loss is logged with what the engine still holds', away)
    # one line per burst: the two legs' audio may stop on different ticks
    closings = [int(n) for n in
                re.findall(r'closed (\d+) legs? in \d+ rooms? \(reason link-lost\)', away)]
    tap.ok(sum(closings) == 2,
           'so is the closing of the legs whose audio stopped (2 legs in all)', away)
    y.start()
    tap.ok(y.wait_engine(), 'after 6 s without Yate the engine reconnects to the new one',
           y.engine_log_text()[mark:])
    hear_each_other(second)
    closed(y, room2, 'link-lost', 3)

    # 3. SIGKILL, started again at once
    third = (('E', 500), ('F', 1200))
    room3 = room_of_two(y, '803', third)
    time.sleep(4)
    mark = len(y.engine_log_text())
    y.restart(kill=True)
    hear_each_other(third)
    tap.ok(engine_says(y, 'Yate was restarted: closed 2 legs in 1 room (reason yate-restart)',
                       mark),
           'after SIGKILL and a restart of Yate the engine says it closed 2 legs in 1 room',
           y.engine_log_text()[mark:])
    tap.ok(y.wait_engine(), 'the engine is attached again', y.engine_log_text()[mark:])
    closed(y, room3, 'yate-restart', 3)
    last = (('G', 700), ('H', 1100))
    room_of_two(y, '804', last)
    time.sleep(3)
    for d in y.drivers:
        d.close()
    status = y.engine_status()
    tap.ok(re.search(r'links_up=([4-9]|\d\d)', status), 'the status counts the links made',
           status)

    # the engine leaves cleanly; its store has every CDR
    engine.send_signal(signal.SIGTERM)
    try:
        rc = engine.wait(yatelib.WAIT)
    except Exception:
        rc = None
    tap.ok(rc == 0, 'SIGTERM: the engine exits 0', y.engine_log_text()[-2000:])
    hear_each_other(last)
    db = sqlite3.connect(y.path('conf-engine.db'))
    rows = db.execute('SELECT room, reason, (left_at - joined_at) / 1000 FROM cdrs '
                      'ORDER BY room, leg').fetchall()
    db.close()
    want = [(room1, 'yate-restart'), (room2, 'link-lost'), (room3, 'yate-restart')]
    got = [(r, why) for r, why, _ in rows if r != 'room04']
    tap.ok(got == [w for w in want for _ in (0, 1)] and
           all(ms >= 3000 for r, _, ms in rows if r != 'room04'),
           'SQLite CDRs: yate-restart, link-lost, yate-restart, each at least 3 s', rows)

# role=global on the listener: Yate does not expect %%>connect then
with yatelib.Yate(prefix, 'connect-role', start_engine=False, engine_listener='global',
                  routes=ROUTES, engine_conf=ENGINE_CONF) as y:
    tap.yate = y
    y.connect_engine()
    tap.ok(y.wait_engine(), 'role=global: the engine attaches all the same', y.engine_log_text())
    tap.ok("error: '%%>connect:global'" in y.log_text(),
           "role=global: Yate logs a warning for our %%>connect:global", y.log_tail())
    tap.ok('Yate could not parse a line we sent: %%>connect:global' in y.engine_log_text(),
           'role=global: the engine logs the Error in: answer as a warning', y.engine_log_text())
    d = y.driver()
    chan, ans = d.call('805', caller='100R')
    tap.ok(bool(chan) and yatelib.wait_for(lambda: 'conf/room05' in y.rm('conf list')),
           'role=global: a call is taken into a room', ans)

tap.done()
