#!/usr/bin/env python3
"""test-http-resume.py - the event stream resumed from the store, beyond memory (TAP).

The engine runs under yate-sim with [http], [monitor] resume_events=5 (so
memory keeps only 5 lines) and a [store]: SQLite in the test's directory,
or the PostgreSQL server of tests/pg-harness.sh when CE_TEST_PG_CONNINFO is
set (test-http-resume-pg.sh).  Callers sit in rooms 'main' and 'other';
mutes and unmutes over the API make the lines.  Shown, over real HTTP on
loopback:
- ids grow from the engine's start time (microseconds) and are dense;
- a client away for far more lines than memory keeps resumes with
  Last-Event-ID and gets every one of them, in order, exactly the text a
  live client got, nothing twice, no gap, then the live ones; ?since=0
  gets everything of the run from its first line;
- ?room=other resumes with room other's lines only, all of them;
- a resume from far back while lines keep coming (the seams between the
  store, memory and live): ids consecutive, no duplicate, no gap;
- after a restart of the engine on the same database, an id of the old
  run resumes from the store: the rest of the old run, then the new run,
  with neither reset nor gap; an id beyond the newest still gets reset;
  the history's events and CDRs carry seq = the stream id of their line;
- (PostgreSQL) two engines with their own node names on one database:
  each resumes with its own lines only;
- a node whose store already holds a later id than the clock (a clock
  set back): the new run's ids go on above it, and a warning says so;
- (PostgreSQL) the server stops: lines made meanwhile are spooled and a
  resume gets exactly those memory no longer keeps as a gap; once the
  server is back and the spool replayed, the same resume gets them all;
- a store that cannot be reached: the stream still starts, with a gap
  event naming exactly the ids that memory no longer keeps, then the kept
  lines, and a log line that says so.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httplib  # noqa: E402

tap = httplib.engine_tap()

READ, ADMIN = httplib.READ, httplib.ADMIN
HTTP = httplib.http_conf('max_event_clients=8') + '\n'
SCENARIO = '''
route ^800$ conf/main notify=conf-monitor/main
route ^801$ conf/other notify=conf-monitor/other lonely=true
at 0 call 1001 800 play=silence
at 0.3 call 1002 800 play=silence
at 0.6 call 1003 801 play=silence
end 300
'''
PG = os.environ.get('CE_TEST_PG_CONNINFO')
TAG = uuid.uuid4().hex[:8]  # node names unique to the run: PostgreSQL is shared
print('# store: %s' % ('postgresql' if PG else 'sqlite'))
shared = tempfile.mkdtemp(prefix='ce-resume-')


def store_section(spool):
    if PG:
        return ('[store]\nbackend=postgresql\npg_conninfo=%s\nspool_dir=%s\nreconnect_max_ms=500\n'
                % (PG, spool))
    return ('[store]\nbackend=sqlite\nsqlite_path=%s/conf.db\nspool_dir=%s\n'
            % (shared, spool))


def engine(node, store=None):
    spool = tempfile.mkdtemp(prefix='spool-', dir=shared)
    extra = '[general]\nnode=%s\n[monitor]\nresume_events=5\n%s' % (
        node, store if store is not None else store_section(spool))
    return httplib.Engine(SCENARIO, HTTP, extra=extra)


def kind(ev):
    return ev['data'].get('event') or ev['data'].get('type')


def ids(evs):
    return [e.get('id') for e in evs]


def dense(evs):
    i = ids(evs)
    return bool(i) and all(isinstance(x, int) for x in i) and \
        all(b == a + 1 for a, b in zip(i, i[1:])) and \
        all(e['data'].get('seq') == e['id'] for e in evs) and not any('event' in e for e in evs)


class Actions:
    """Mutes and unmutes of caller 1002 (room main) and 1003 (room other) over the API."""

    def __init__(self, eng):
        self.eng, self.n = eng, {'main': 0, 'other': 0}
        self.legs = {}
        for room, caller in (('main', '1002'), ('other', '1003')):
            # joined: a leg still offered is listed too, with no id yet (docs/http.md)
            st, doc = eng.wait(lambda s, d: s == 200 and d and any(
                l.get('caller') == caller and l.get('state') == 'joined'
                for l in d.get('legs', [])), '/api/v1/rooms/' + room, READ)
            leg = ([l['id'] for l in doc['legs'] if l['caller'] == caller and
                    l['state'] == 'joined'] if st == 200 and doc else []) or ['not-joined']
            leg = leg[0]  # not joined in time: the actions are answered 404, and the checks say so
            self.legs[room] = '/api/v1/rooms/%s/legs/%s/' % (room, leg.replace('/', '%2F'))

    def do(self, count, room='main'):
        """@count lines in @room (mute, unmute, ...); whether each was answered 200."""
        ok = True
        for i in range(count):
            op = 'mute' if self.n[room] % 2 == 0 else 'unmute'
            self.n[room] += 1
            ok = self.eng.request('POST', self.legs[room] + op, ADMIN)[0] == 200 and ok
        return ok


def mutes(n):
    """A predicate true at the @n-th mute/unmute event read."""
    seen = [0]

    def pred(e):
        if kind(e) in ('mute', 'unmute'):
            seen[0] += 1
        return seen[0] >= n
    return pred


def first(c, n=5):
    """The first @n events of stream @c (a read that times out ends a stream: none here)."""
    got = [c.next() for i in range(n)]
    return [e for e in got if e]


def newest(eng):
    """The newest id, as a client without an id sees it: the last of the 5 lines kept."""
    c = httplib.Events(eng, READ)
    got = first(c)
    c.close()
    return got[-1]['id'] if got else 0  # none: the checks that use it fail, the test goes on


engines = []
try:
    started_us = int(time.time() * 1e6)
    a = engine('ra-' + TAG)
    engines.append(a)
    tap.ok(a.port, 'the engine with a store and resume_events=5 listens', a.stderr('HTTP'))
    if not a.port:
        tap.done()
    act = Actions(a)

    # a live client sees 30 lines; ids are dense and above the start time in microseconds
    live = httplib.Events(a, READ)
    early = first(live)  # what memory keeps now
    act.do(30)
    ref = early + live.until(mutes(30))
    tap.ok(dense(ref) and ref[0]['id'] > started_us and ref[-1]['id'] < time.time() * 1e6,
           'a live client: ids dense, from the start time in microseconds on',
           (started_us, ids(ref)[:3]))
    last = ref[-1]['id']
    live.close()

    # away for 40 lines (memory keeps 5): a witness records them live
    witness = httplib.Events(a, READ)
    first(witness)
    act.do(40)
    away = witness.until(mutes(40))
    witness.close()
    b = httplib.Events(a, READ, last=last)
    got = b.until(lambda e: e.get('id') == away[-1]['id'])
    tap.ok(dense(away) and got and ids(got) == ids(away) and dense(got) and
           got[0]['id'] == last + 1,
           'Last-Event-ID older than memory: all 40 lines from the store, in order, '
           'no gap, none twice', (last, ids(got)[:5], len(got), len(away)))
    tap.ok([e['data'] for e in got] == [e['data'] for e in away],
           'each line is exactly the JSON the live client got')
    act.do(1)
    more = b.until(lambda e: 'id' in e, timeout=httplib.WAIT)
    tap.ok(more and more[0]['id'] == away[-1]['id'] + 1 and kind(more[0]) in ('mute', 'unmute'),
           'then the live lines, the next id', ids(more))
    b.close()
    top = more[0]['id'] if more else away[-1]['id']

    # ?since=0: the whole run, from its first line (the rooms' creation) on
    s0 = httplib.Events(a, READ, path='/api/v1/events?since=0')
    all0 = s0.until(lambda e: e.get('id') == top)
    s0.close()
    tap.ok(dense(all0) and kind(all0[0]) == 'created' and all0[-1]['id'] == top and
           [e['data'] for e in all0 if e['id'] >= ref[0]['id']] ==
           [e['data'] for e in ref + away + more],
           '?since=0: every line of the run from the store, then memory, the same text',
           (ids(all0)[:3], len(all0)))
    run = all0[0]['id'] - 1 if all0 else 0

    # a filter over the store's lines: room other only, all of them
    act.do(6, 'other')
    o_live = httplib.Events(a, READ, path='/api/v1/events?room=other&since=%d' % top)
    o_ref = o_live.until(mutes(6))
    o_live.close()
    act.do(8)  # room main's lines push room other's out of memory
    o = httplib.Events(a, READ, path='/api/v1/events?room=other&since=0')
    o_got = o.until(lambda e: o_ref and e.get('id') == o_ref[-1]['id'])
    o.close()
    tap.ok(len(o_ref) == 6 and o_got and all(e['data'].get('room') == 'other' for e in o_got) and
           not any('event' in e for e in o_got) and
           [e['id'] for e in o_got if kind(e) in ('mute', 'unmute')] == ids(o_ref) and
           any(kind(e) == 'enter' and e['data'].get('caller') == '1003' for e in o_got),
           '?room=other from the store: room other\'s lines only (1003 entering, its 6 '
           'mutes), nothing of room main, no gap', [(e.get('id'), kind(e)) for e in o_got])

    # the seams: resume from the run's start while lines keep coming
    stop = threading.Event()
    made = []

    def churn():
        while not stop.is_set() and len(made) < 400:
            made.append(act.do(1))
    t = threading.Thread(target=churn)
    t.start()
    time.sleep(0.3)
    sc = httplib.Events(a, READ, path='/api/v1/events?since=%d' % run)
    seam = sc.until(lambda e: len(made) >= 60 and e.get('id', 0) > top + 60, timeout=60)
    stop.set()
    t.join()
    end_id = newest(a)
    seam += sc.until(lambda e: e.get('id') == end_id)
    sc.close()
    tap.ok(all(made) and dense(seam) and seam[0]['id'] == run + 1 and seam[-1]['id'] == end_id,
           'a resume from the run\'s start while %d lines come meanwhile: %d lines, dense, '
           'none twice, no gap, up to the newest' % (len(made), len(seam)),
           [x for x in zip(ids(seam), ids(seam)[1:]) if x[1] != x[0] + 1][:5])

    # restart on the same database and node: an old id resumes across the restart
    old_last = end_id
    httplib.ends_well(tap, a, 'the first engine stops cleanly (no sanitizer report)')
    a.close()
    engines.remove(a)
    a2 = engine('ra-' + TAG)
    engines.append(a2)
    act2 = Actions(a2)
    act2.do(12)
    c = httplib.Events(a2, READ, last=last)
    acr = c.until(mutes(40 + 1 + 6 + 8 + len(made) + 12), timeout=60)
    c.close()
    # the old run ends with its shutdown's lines (leaves, CDRs) after old_last
    jumps = [i for i in range(1, len(acr)) if acr[i].get('id') != acr[i - 1].get('id', 0) + 1]
    olds, news = (acr[:jumps[0]], acr[jumps[0]:]) if jumps else (acr, [])
    tap.ok(acr and not any('event' in e for e in acr) and len(jumps) == 1 and dense(olds) and
           olds[0]['id'] == last + 1 and olds[-1]['id'] > old_last and
           {'leave', 'cdr'} <= {kind(e) for e in olds if e['id'] > old_last} and
           dense(news) and kind(news[0]) == 'created',
           'after a restart, Last-Event-ID of the old run: the rest of the old run from the '
           'store (up to its shutdown\'s leaves and CDRs), then the new run from its first '
           'line; neither reset nor gap',
           (last, old_last, len(jumps), dense(olds), dense(news), olds and olds[0]['id'] - last,
            [kind(e) for e in olds if e['id'] > old_last], [kind(e) for e in news[:2]],
            [e.get('event') for e in acr if 'event' in e]))
    tap.ok([e['data'] for e in olds[:len(away)]] == [e['data'] for e in away],
           'the old run\'s lines are the same text as before the restart')
    # the history's rows carry the stream id of their line
    since_t = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(started_us / 1e6 - 1))
    hist = {}
    for what in ('events', 'cdrs'):
        st, hd, body = a2.request('GET', '/api/v1/history/%s?limit=1000&from=%s'
                                  % (what, since_t), READ)
        hist[what] = {r.get('seq'): r for r in json.loads(body)[what]} if st == 200 else {}
    cdrs = [e for e in olds if kind(e) == 'cdr']
    tap.ok(cdrs and all(hist['cdrs'].get(e['id'], {}).get('leg') == e['data'].get('leg')
                        for e in cdrs) and
           all(hist['events'].get(e['id'], {}).get('event') == kind(e) for e in away),
           'the history\'s events and CDRs have seq = the id of their line on the stream',
           len(cdrs))
    top2 = newest(a2)
    r = httplib.Events(a2, READ, last=top2 + 1000)
    rs = r.until(lambda e: 'id' in e, timeout=2)
    r.close()
    tap.ok(rs and rs[0].get('event') == 'reset', 'an id beyond the newest still gets reset',
           rs[:1])

    if PG:
        # a second node on the same database: each resumes with its own lines only
        x = engine('rx-' + TAG)
        engines.append(x)
        actx = Actions(x)
        actx.do(10)
        act2.do(10)
        first2 = news[0]['id']
        ca = httplib.Events(a2, READ, path='/api/v1/events?since=%d' % (first2 - 1))
        mine = ca.until(lambda e: False, timeout=3)
        ca.close()
        cx = httplib.Events(x, READ, path='/api/v1/events?since=0')
        theirs = cx.until(lambda e: False, timeout=3)
        cx.close()
        tap.ok(dense(mine) and all(e['data'].get('node') == 'ra-' + TAG for e in mine) and
               dense(theirs) and all(e['data'].get('node') == 'rx-' + TAG for e in theirs) and
               kind(theirs[0]) == 'created',
               'two nodes on one PostgreSQL database: each stream holds its own node\'s '
               'lines only, dense', (len(mine), len(theirs)))
    else:
        tap.skip('two nodes on one database', 'PostgreSQL only (test-http-resume-pg.sh)')

    if PG and os.environ.get('CE_TEST_PG_STOP') and os.environ.get('CE_TEST_PG_START'):
        # PostgreSQL stops: lines are spooled, a resume gets a gap for them; once it is back
        # and the spool replayed, the same resume gets them all from the store
        n0 = newest(a2)
        subprocess.run(os.environ['CE_TEST_PG_STOP'], shell=True, check=True,
                       stdout=subprocess.DEVNULL)
        act2.do(8)
        g = httplib.Events(a2, READ, last=n0)
        gs = g.until(lambda e: e.get('id') == n0 + 8)
        g.close()
        tap.ok(gs and gs[0].get('event') == 'gap' and gs[0]['data'] == {
            'type': 'gap', 'from': n0 + 1, 'to': n0 + 3} and ids(gs[1:]) ==
            list(range(n0 + 4, n0 + 9)),
            'PostgreSQL stopped: the 3 spooled lines memory no longer keeps are a gap, then '
            'the 5 kept', gs[:2])
        subprocess.run(os.environ['CE_TEST_PG_START'], shell=True, check=True,
                       stdout=subprocess.DEVNULL)
        end = time.monotonic() + 60
        while True:
            g = httplib.Events(a2, READ, last=n0)
            gs = g.until(lambda e: e.get('id', 0) >= n0 + 8 or 'event' in e)
            g.close()
            if ids(gs) == list(range(n0 + 1, n0 + 9)) or time.monotonic() > end:
                break
            time.sleep(0.2)
        tap.ok(dense(gs) and ids(gs) == list(range(n0 + 1, n0 + 9)),
               'PostgreSQL back, the spool replayed: the same resume gets all 8 from the '
               'store, no gap', gs[:2])
    else:
        tap.skip('PostgreSQL stopped: spooled lines are a gap', 'PostgreSQL only')
        tap.skip('PostgreSQL back: the same resume gets them all', 'PostgreSQL only')

    # a clock behind the store's last id of the node: ids still go up (the store is read at start)
    ahead = int(time.time() * 1e6) + 10 ** 13  # about 4 months ahead
    row = ("INSERT INTO event_stream (node, seq, run, at, room, line) VALUES "
           "('rf-%s', %d, %d, %s, 'main', '{}')" % (TAG, ahead, ahead - 1, '%s'))
    if PG and not shutil.which('psql'):
        tap.skip('a clock behind the store', 'no psql to write the row')
    else:
        if PG:
            subprocess.run(['psql', '-q', PG, '-c', row % 'now()'], check=True)
        else:
            with sqlite3.connect(os.path.join(shared, 'conf.db')) as db:
                db.execute(row % '0')
        f = engine('rf-' + TAG)
        engines.append(f)
        Actions(f)
        fnew = newest(f)
        tap.ok(fnew and fnew > ahead + 1 and
               f.logged('the clock is behind this node\'s last event id in the store'),
               'a node whose store holds a later id than the clock: its ids go on above it, '
               'logged', (ahead, fnew))

    # the store away: the stream starts with a gap for what memory no longer keeps
    w = tempfile.mkdtemp(prefix='away-', dir=shared)
    d = engine('rd-' + TAG, httplib.away_store(w))
    engines.append(d)
    actd = Actions(d)
    dl = httplib.Events(d, READ)
    kept0 = first(dl)
    actd.do(20)
    dref = kept0[-1:] + dl.until(mutes(20))
    dl.close()
    since = dref[0]['id']
    g = httplib.Events(d, READ, last=since)
    gs = g.until(lambda e: e.get('id') == dref[-1]['id'])
    g.close()
    gap = gs[0] if gs else {}
    kept = gs[1:]
    tap.ok(gap.get('event') == 'gap' and gap['data'].get('from') == since + 1 and
           kept and gap['data'].get('to') == kept[0]['id'] - 1 and dense(kept) and
           len(kept) == 5 and [e['data'] for e in kept] == [e['data'] for e in dref[-5:]],
           'store away: a gap from the id after Last-Event-ID to the one before the oldest '
           'kept, then the 5 kept lines', (since, gs[:2]))
    tap.ok(d.logged('the store cannot give the lines %d to' % (since + 1)),
           'and a log line says which lines the store could not give')
    for e in list(engines):
        httplib.ends_well(tap, e)
finally:
    for e in engines:
        e.close()
    shutil.rmtree(shared, ignore_errors=True)
tap.done()
