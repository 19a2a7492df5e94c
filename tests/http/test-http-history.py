#!/usr/bin/env python3
"""test-http-history.py - GET /api/v1/history/events and /cdrs, CSV export, histograms (TAP).

The engine runs under yate-sim with [http] and a [store]: SQLite in the
test's directory, or the PostgreSQL server of tests/pg-harness.sh when
CE_TEST_PG_CONNINFO is set (test-http-history-pg.sh).  Three callers join
two rooms (names unique to the run) and hang up: one named like a
spreadsheet formula.  Shown, over real HTTP on loopback:
- /history/events holds their enter and leave events; room=, type=,
  from=/to= and conference= select; limit= and after= page through them
  (oldest first, next = the cursor), nothing twice and nothing missed;
- /history/cdrs holds one CDR per caller; ?format=csv and Accept: text/csv
  give CSV that Python's csv module reads, with the JSON's fields as its
  header and the same values, the formula-like caller name prefixed with ';
- bad input is a 400 in the error shape: times without a zone or absurd,
  limit out of range, unknown parameters, a bad type, format or cursor;
- a store that cannot reach its database answers 503 with Retry-After at
  once;
- /metrics has the admission latency and media tick histograms, in the
  Prometheus format (cumulative buckets, +Inf = _count), counting: the
  three callers admitted and a fourth the schedule refuses (nothing
  scheduled under its number), and media ticks that keep coming;
- every answer is the OpenAPI document's; the engine stops cleanly.
"""
import csv
import io
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httplib  # noqa: E402
import faultlib  # noqa: E402

tap = httplib.Tap()
if faultlib.built():
    tap.skip_all(faultlib.built())

READ = 'r3ad-secret'
TOKEN = 'token.ops = read:%s\n' % httplib.sha256(READ)
FORMULA = "=cmd|' /C calc'!A0"
PG = os.environ.get('CE_TEST_PG_CONNINFO')
TAG = uuid.uuid4().hex[:8]
ROOM_A, ROOM_B = 'hist-a-' + TAG, 'hist-b-' + TAG
answers = []
print('# store: %s' % ('postgresql' if PG else 'sqlite'))


def store_section(work):
    if PG:
        return '[store]\nbackend=postgresql\npg_conninfo=%s\nspool_dir=%s/spool\n' % (PG, work)
    return '[store]\nbackend=sqlite\nsqlite_path=%s/conf.db\nspool_dir=%s/spool\n' % (work, work)


def req(eng, path, headers=None):
    st, hd, body = eng.get(path, READ, headers=headers)
    answers.append((path, 'GET', st, hd, body))
    return st, hd, body


def get_json(eng, path):
    st, hd, body = req(eng, path)
    try:
        return st, hd, json.loads(body)
    except ValueError:
        return st, hd, None


def q(path, **params):
    return path + '?' + urllib.parse.urlencode(params)


def histogram(eng, name):
    """{le: count}, sum, count of histogram @name in /metrics (None when absent)."""
    st, hd, body = req(eng, '/metrics')
    samples = httplib.parse_prometheus(body.decode())
    buckets = {lb['le']: v for n, lb, v in samples if n == name + '_bucket'}
    total = [v for n, lb, v in samples if n == name + '_count']
    s = [v for n, lb, v in samples if n == name + '_sum']
    typed = ('# TYPE %s histogram' % name) in body.decode()
    if not buckets or not total or not s or not typed:
        return None
    return buckets, s[0], total[0]


def cumulative(h):
    if not h:
        return False
    buckets, s, count = h
    les = sorted((float(k) for k in buckets), key=float)
    values = [buckets[k] for k in sorted(buckets, key=lambda k: float(k))]
    return (les[-1] == float('inf') and all(a <= b for a, b in zip(values, values[1:])) and
            buckets['+Inf'] == count and s >= 0)


work = tempfile.mkdtemp(prefix='ce-hist-')

eng = httplib.Engine('''
route ^800$ conf/%s notify=conf-monitor/%s
route ^801$ conf/%s notify=conf-monitor/%s
route ^802$ schedule/none-%s
at 0 call 1001 800 play=silence name=Alice
at 0.1 call 1004 802 play=silence
at 0.3 call 1002 800 play=silence "name=%s"
at 0.6 call +1003 801 play=silence
at 2.5 hangup 1001
at 2.7 hangup 1002
at 2.9 hangup +1003
end 300
''' % (ROOM_A, ROOM_A, ROOM_B, ROOM_B, TAG, FORMULA), 'enabled=true\n' + TOKEN,
    extra=store_section(work))
try:
    tap.ok(eng.port, 'the engine logs the port it listens on', eng.stderr('HTTP'))
    if not eng.port:
        tap.done()
    media0 = histogram(eng, 'conf_engine_media_tick_seconds')

    # the history fills as the callers come and go (the store writes behind)
    def three_cdrs(st, d):
        return st == 200 and d and \
            len([c for c in d['cdrs'] if c['room'] in (ROOM_A, ROOM_B)]) >= 3
    st, d = eng.wait(three_cdrs, q('/api/v1/history/cdrs', limit=1000), READ, timeout=30)
    st, hd, evs = get_json(eng, q('/api/v1/history/events', room=ROOM_A, limit=1000))
    tap.ok(st == 200 and evs and isinstance(evs.get('events'), list),
           'GET /history/events?room=A: 200 with events', (st, evs))
    a = evs['events'] if evs else []
    kinds = [(e['event'], e.get('caller')) for e in a]
    tap.ok(('enter', '1001') in kinds and ('enter', '1002') in kinds and
           ('leave', '1001') in kinds and ('leave', '1002') in kinds and
           all(e['room'] == ROOM_A for e in a),
           'room A: both callers\' enter and leave, and only room A', kinds)
    ids = [e['id'] for e in a]
    tap.ok(ids == sorted(ids) and len(set(ids)) == len(ids) and evs.get('next') is None,
           'oldest first (ids increasing), no next on a last page', (ids, evs and evs.get('next')))
    named = [e for e in a if e.get('caller') == '1002' and e['event'] == 'enter']
    tap.ok(named and named[0].get('caller_name') == FORMULA and
           named[0]['time'].endswith('Z') and isinstance(named[0]['time_us'], int),
           'an event carries the caller\'s name and its time (RFC 3339 and us)', named)

    # filters: type, time range, conference, the other room
    st, hd, lv = get_json(eng, q('/api/v1/history/events', room=ROOM_A, type='leave'))
    tap.ok(st == 200 and lv and len(lv['events']) == 2 and
           all(e['event'] == 'leave' for e in lv['events']),
           'type=leave: the two leaves only', lv)
    st, hd, b = get_json(eng, q('/api/v1/history/events', room=ROOM_B))
    tap.ok(st == 200 and b and b['events'] and all(e['room'] == ROOM_B for e in b['events']) and
           any(e.get('caller') == '+1003' for e in b['events']),
           'room=B: room B\'s events only', b)
    last_us = max(e['time_us'] for e in a) if a else 0
    later = time.strftime('%Y-%m-%dT%H:%M:%S+00:00', time.gmtime(last_us / 1e6 + 1))
    st, hd, none = get_json(eng, q('/api/v1/history/events', room=ROOM_A, **{'from': later}))
    tap.ok(st == 200 and none and none['events'] == [],
           'from= after the last event: none', (later, none))
    first_us = min(e['time_us'] for e in a) if a else 0
    # the same instant written with a +02:00 offset
    t = time.gmtime(first_us // 1000000 + 7200)
    before = time.strftime('%Y-%m-%dT%H:%M:%S', t) + '.%06d+02:00' % (first_us % 1000000)
    st, hd, one = get_json(eng, q('/api/v1/history/events', room=ROOM_A, to=before))
    st2, hd2, from_first = get_json(eng, q('/api/v1/history/events', room=ROOM_A,
                                           **{'from': before}))
    tap.ok(st == 200 and one is not None and one['events'] == [] and from_first and
           [e['id'] for e in from_first['events']] == ids,
           'from/to with an offset: to= the first event excludes it, from= includes it',
           (before, one, from_first and len(from_first['events'])))
    st, hd, conf = get_json(eng, q('/api/v1/history/events', conference=987654321))
    tap.ok(st == 200 and conf and conf['events'] == [],
           'conference= of no conference: none', conf)

    # paging: limit 2 and the cursor give every event once, in order
    paged, after, pages = [], 0, 0
    while pages < 50:
        st, hd, p = get_json(eng, q('/api/v1/history/events', room=ROOM_A, limit=2, after=after))
        if st != 200 or not p:
            break
        paged += p['events']
        pages += 1
        if p['next'] is None:
            break
        after = p['next']
    tap.ok([e['id'] for e in paged] == ids and pages >= 2,
           'limit=2 with after= pages through every event once, in order', (pages, paged))

    # CDRs as JSON and CSV
    st, hd, cd = get_json(eng, q('/api/v1/history/cdrs', room=ROOM_A))
    cdrs = cd['cdrs'] if cd else []
    tap.ok(st == 200 and len(cdrs) == 2 and {c['caller'] for c in cdrs} == {'1001', '1002'} and
           all(c['duration_ms'] > 0 and c['joined'] < c['left'] for c in cdrs),
           'GET /history/cdrs?room=A: one CDR per caller, with its duration', cd)
    st, hd, body = req(eng, q('/api/v1/history/cdrs', room=ROOM_A, format='csv'))
    rows = list(csv.reader(io.StringIO(body.decode(), newline=''))) if st == 200 else []
    tap.ok(st == 200 and hd.get('content-type', '').startswith('text/csv') and
           rows and rows[0] == list(cdrs[0].keys()) if cdrs else False,
           'format=csv: text/csv, a header row of the JSON\'s field names', (st, hd, rows[:1]))

    def as_csv(v):
        if v is None:
            return ''
        v = str(v)
        return "'" + v if v[:1] in ('=', '+', '-', '@') else v
    want = [[as_csv(v) for v in c.values()] for c in cdrs]
    tap.ok(rows[1:] == want, 'the CSV rows are the JSON\'s values (RFC 4180 quoting)',
           (rows[1:], want))
    formula = [r for r in rows[1:] if FORMULA in ''.join(r)]
    tap.ok(formula and "'" + FORMULA in formula[0] and FORMULA not in formula[0],
           'a caller name like a formula comes out prefixed with \'', formula)
    st, hd, body2 = req(eng, q('/api/v1/history/cdrs', room=ROOM_B),
                        headers={'Accept': 'text/csv'})
    rows_b = list(csv.reader(io.StringIO(body2.decode(), newline=''))) if st == 200 else []
    tap.ok(st == 200 and len(rows_b) == 2 and "'+1003" in rows_b[1],
           'Accept: text/csv gives CSV too; a caller +1003 is prefixed', rows_b)
    st, hd, body3 = req(eng, q('/api/v1/history/cdrs', room=ROOM_A, format='csv', limit=1))
    rows_1 = list(csv.reader(io.StringIO(body3.decode(), newline=''))) if st == 200 else []
    tap.ok(st == 200 and len(rows_1) == 2 and hd.get('x-next-after') == rows_1[1][0],
           'a full CSV page names its cursor in X-Next-After', (hd, rows_1))

    # bad input: 400 in the error shape, nothing else
    bad = [
        q('/api/v1/history/events', **{'from': '2026-12-01T09:00:00'}),
        q('/api/v1/history/events', to='2026-13-45T09:00:00Z'),
        q('/api/v1/history/events', **{'from': '0000-01-01T00:00:00Z'}),
        q('/api/v1/history/events', **{'from': 'yesterday'}),
        q('/api/v1/history/events', **{'from': '2026-W49-1T09:00:00Z'}),
        q('/api/v1/history/events',
          **{'from': '2026-12-02T00:00:00Z', 'to': '2026-12-01T00:00:00Z'}),
        q('/api/v1/history/events', limit=0),
        q('/api/v1/history/events', limit=1001),
        q('/api/v1/history/events', limit='ten'),
        q('/api/v1/history/events', after=-1),
        q('/api/v1/history/events', type='nonsense'),
        q('/api/v1/history/events', conference="1' OR '1'='1"),
        q('/api/v1/history/events', format='csv'),
        q('/api/v1/history/events', colour='blue'),
        q('/api/v1/history/cdrs', format='xml'),
        q('/api/v1/history/cdrs', limit=1001),
        q('/api/v1/history/cdrs', format='csv', limit=10001),
        q('/api/v1/history/cdrs', type='enter'),
    ]
    got = []
    for path in bad:
        st, hd, e = get_json(eng, path)
        got.append((path, st, e and e.get('error', {}).get('code')))
    tap.ok(all(s == 400 and c == 'bad_request' for p, s, c in got),
           'bad times, limits, cursors, types, formats, unknown parameters: 400 bad_request',
           [g for g in got if g[1] != 400])
    st, hd, e = get_json(eng, q('/api/v1/history/cdrs', format='csv', limit=10000, room=ROOM_A))
    tap.ok(st == 200, 'CSV takes a limit up to 10000', st)

    # the histograms
    adm = histogram(eng, 'conf_engine_admission_seconds')
    refused = eng.logged('refused', lambda t: 'schedule/none-' in t)
    tap.ok(cumulative(adm) and adm[2] == 4 and refused,
           'admission latency: a histogram (cumulative buckets, +Inf = count) counting the '
           'three callers admitted and the one the schedule refused', (adm, refused))
    media1 = histogram(eng, 'conf_engine_media_tick_seconds')
    time.sleep(0.5)
    media2 = histogram(eng, 'conf_engine_media_tick_seconds')
    tap.ok(cumulative(media1) and cumulative(media2) and media0 and
           media0[2] < media1[2] < media2[2],
           'media tick time: a histogram whose count keeps moving while media runs',
           (media0 and media0[2], media1 and media1[2], media2 and media2[2]))
    tap.ok(media2 and media2[1] >= media1[1], 'its sum grows with it',
           (media1 and media1[1], media2 and media2[1]))

    st, hd, body = req(eng, '/api/v1/openapi.json')
    doc = json.loads(body)
    tap.ok(not httplib.openapi_misses(doc, answers),
           'every answer is described by the OpenAPI document',
           httplib.openapi_misses(doc, answers))
    httplib.ends_well(tap, eng)
finally:
    eng.close()

# a store that cannot reach its database: 503 with Retry-After, at once
eng = httplib.Engine('end 60\n', 'enabled=true\n' + TOKEN,
                     extra=httplib.away_store(os.path.join(work, 'away')))
try:
    for path in ('/api/v1/history/events', '/api/v1/history/cdrs?format=csv'):
        st, hd, e = get_json(eng, path) if eng.port else (None, {}, None)
        tap.ok(st == 503 and hd.get('retry-after', '').isdigit() and e and
               e['error']['code'] == 'store_unavailable',
               '%s with the database away: 503 store_unavailable, Retry-After' % path, (st, hd, e))
    st, hd, body = req(eng, '/api/v1/openapi.json') if eng.port else (None, {}, b'{}')
    tap.ok(not httplib.openapi_misses(json.loads(body), answers),
           'those answers are the document\'s too')
    httplib.ends_well(tap, eng)
finally:
    eng.close()
    shutil.rmtree(work, ignore_errors=True)
tap.done()
