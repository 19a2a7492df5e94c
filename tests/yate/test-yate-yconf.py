#!/usr/bin/env python3
"""test-yate-yconf.py - a room run by Yate's own conference module is monitored and stored by conf-engine (TAP).

conf-engine owns `conf/` by installing call.execute below Yate's conference
module (50 < 90).  No setting leaves some rooms to Yate while the engine
takes the others; an operator who wants Yate's conference module to run
the rooms sets `[conference] priority=100` (above Yate's 90), and the
engine keeps monitoring them.  Shown on a real Yate 6.4.1:

    ^850$=conf/yroom;notify=conf-monitor/yroom;speakers=true;lonely=true

A speaks (tests/data/sim/speech.wav), B is silent; both are wavefile
callers.  Checked:
  - Yate's conference takes the calls (peerid=conf/N), the engine runs no
    room; B hears A through Yate's mixer;
  - Yate's chan.notify (created, joined, speaking, left, destroyed) reach
    the engine's monitor, which writes enter, talk-start, talk-stop and
    leave events and one CDR per caller (room yroom, leg conf/N, peer
    wave/N, caller, called 850) to its event log and its SQLite database.
"""
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yatelib  # noqa: E402

tap = yatelib.Checked()
prefix = yatelib.require(tap)
ROUTE = r'^850$=conf/yroom;notify=conf-monitor/yroom;speakers=true;lonely=true'


def db_rows(y, sql):
    """Rows of @sql on the engine's SQLite database ([] while it cannot be read)."""
    try:
        con = sqlite3.connect('file:%s?mode=ro' % y.path('conf-engine.db'), uri=True, timeout=5)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return []


def events_of(y, event, room='yroom'):
    return [e for e in y.events() if e.get('type') == 'event' and e.get('event') == event and
            e.get('room') == room]


with yatelib.Yate(prefix, 'yconf', engine='--config {conf}',
                  engine_conf=('[conference]\npriority=100\n[schedule]\npriority=100\n'
                               '[monitor]\ncdr_delay=500\n'),
                  routes=[ROUTE]) as y:
    tap.yate = y
    tap.ok(y.wait_engine(), 'conf-engine attached to Yate', y.log_tail())
    d = y.driver()
    d.watch('call.execute', 'chan.notify')
    yatelib.speech_slin(y.path('a.slin'), 30)
    a, ans_a = d.call('850', play=y.path('a.slin'), record=y.path('heard-A.slin'), caller='1001')
    b, ans_b = d.call('850', record=y.path('heard-B.slin'), caller='1002')
    legs = {}
    for who, chan in (('A', a), ('B', b)):
        rep = chan and yatelib.wait_for(lambda: [r for r in d.reports_of('call.execute', id=chan)
                                                 if r.handled and r.get('peerid')])
        legs[who] = rep[0].get('peerid') if rep else None
    tap.ok(bool(a) and bool(b) and all((legs[w] or '').startswith('conf/') for w in 'AB'),
           "A and B call 850: Yate's own conference takes them (conf/N legs)", (legs, ans_a, ans_b))
    tap.ok('conf/yroom' not in y.rm('conf list'), 'the engine runs no room of its own',
           y.rm('conf list'))

    spoke = yatelib.wait_for(lambda: events_of(y, 'talk-start'), timeout=yatelib.WAIT)
    time.sleep(4)
    d.drop(a)
    time.sleep(2)
    d.drop(b)
    destroyed = d.wait_seen('chan.notify', targetid='conf-monitor/yroom', event='destroyed')
    tap.ok(bool(destroyed), "Yate's room is destroyed once both left",
           [r.text for r in d.reports_of('chan.notify')][-6:])

    # the event log
    cdrs = yatelib.wait_for(lambda: (lambda c: c if len(c) >= 2 else None)(
        [e for e in y.events() if e.get('type') == 'cdr' and e.get('room') == 'yroom']))
    enters = events_of(y, 'enter')
    leg_of = {legs['A']: 'A', legs['B']: 'B'}
    tap.ok(len(enters) == 2 and {e.get('leg') for e in enters} == set(leg_of) and
           all(e.get('source') == 'yate' and e.get('targetid') == 'conf-monitor/yroom'
               for e in enters),
           'the event log has an enter for each of Yate\'s legs (source=yate)', enters)
    by_leg = {e.get('leg'): e for e in enters}
    tap.ok(by_leg.get(legs['A'], {}).get('peer') == a and
           by_leg.get(legs['A'], {}).get('caller') == '1001' and
           by_leg.get(legs['B'], {}).get('caller') == '1002' and
           all(e.get('called') == '850' for e in enters),
           'each enter names its caller channel, caller and called', enters)
    starts = events_of(y, 'talk-start')
    stops = events_of(y, 'talk-stop')
    tap.ok(bool(spoke) and starts and all(e.get('leg') == legs['A'] for e in starts),
           'talk-start for A (from Yate\'s speaking lists), never for silent B', starts)
    tap.ok(stops and stops[-1].get('leg') == legs['A'], 'talk-stop for A (at the latest when it '
           'leaves)', stops)
    leaves = events_of(y, 'leave')
    tap.ok(len(leaves) == 2 and {e.get('leg') for e in leaves} == set(leg_of),
           'a leave for each leg', leaves)
    tap.ok(bool(events_of(y, 'destroyed')), 'the room\'s end is logged', y.events()[-4:])
    cdrs = cdrs or []
    cdr_by = {c.get('leg'): c for c in cdrs}
    ca, cb = cdr_by.get(legs['A'], {}), cdr_by.get(legs['B'], {})
    tap.ok(len(cdrs) == 2 and ca.get('caller') == '1001' and cb.get('caller') == '1002' and
           ca.get('peer') == a and cb.get('peer') == b and
           all(c.get('called') == '850' and c.get('duration_ms', 0) > 0 for c in cdrs),
           'a CDR per caller in the event log (leg, peer, caller, called, duration)', cdrs)
    tap.ok(ca.get('talk_ms', 0) > 0 and cb.get('talk_ms', 1) == 0,
           'A\'s CDR has talk time, silent B\'s none', (ca, cb))

    # the database
    rows = yatelib.wait_for(lambda: (lambda r: r if len(r) >= 2 else None)(db_rows(
        y, "SELECT leg, caller, called, duration_ms, talk_ms FROM cdrs WHERE room='yroom' "
           "ORDER BY leg")))
    tap.ok(rows and sorted((r[0], r[1], r[2]) for r in rows) ==
           sorted([(legs['A'], '1001', '850'), (legs['B'], '1002', '850')]) and
           all(r[3] > 0 for r in rows),
           'the database has both CDRs (room yroom, leg, caller, called)', rows)
    kinds = yatelib.wait_for(lambda: (lambda r: r if ('end', None) in r else None)(db_rows(
        y, "SELECT kind, leg FROM events WHERE room='yroom' ORDER BY id")))
    kinds = kinds or []
    tap.ok([k for k, leg in kinds if k == 'enter'] == ['enter', 'enter'] and
           ('talk-start', legs['A']) in kinds and ('talk-stop', legs['A']) in kinds and
           sorted(leg for k, leg in kinds if k == 'leave') == sorted(leg_of) and
           not [k for k, leg in kinds if k.startswith('talk') and leg == legs['B']],
           'the database has the events: enter, talk-start/stop of A, leave, end', kinds)

    heard_b = yatelib.read_slin(y.path('heard-B.slin'))
    lvl = yatelib.simlib.level_dbfs
    tap.ok(lvl(heard_b) > -40, 'B hears A speak through Yate\'s own mixer', lvl(heard_b))

tap.done()
