#!/usr/bin/env python3
"""test-http-schedule.py - the schedule over REST: /api/v1/conferences and participants (TAP).

The engine runs under yate-sim with [http] (a read and an admin token), a
[store] and the schedule module, on SQLite, or with --pg on the PostgreSQL
server of CE_TEST_PG_CONNINFO (tests/http/test-http-schedule-pg.sh starts
one with tests/pg-harness.sh).  Shown, each answer checked against the
OpenAPI document:
- a conference booked through the API (RFC 3339 times with an offset, a
  time zone) is answered in UTC and in its zone, and stored as the
  microseconds the schedule reads; a simulated caller with its PIN is
  admitted by number in its window, one with a wrong PIN refused;
- list with from/to, number and status filters, limit/offset paging;
  one conference; PUT, PATCH, cancel, DELETE (its participants with it);
- participants: add (dial-out flag, role), list, delete;
- an overlapping booking of the same access number: 409 naming the other;
- bad input, each a 4xx with the error shape AND nothing stored: malformed
  JSON, wrong types, unknown and read-only members, times without a zone,
  before 2000, more than 10 years ahead, end before start, longer than
  [http] max_duration, PINs that are not 4-32 digits, a 1 MB body (413);
  SQL metacharacters are stored literally;
- a read token reads (without PINs) and gets 403 on writes; no token 401;
  a wrong method 405 with Allow; every write logged at NOTE with the
  token's name;
- on PostgreSQL: the server stopped, a request gets 503 with Retry-After
  at once, and works again once the server is back.
"""
import datetime
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httplib  # noqa: E402

tap = httplib.engine_tap()
PG = '--pg' in sys.argv
CONNINFO = os.environ.get('CE_TEST_PG_CONNINFO')
if PG and not CONNINFO:
    if os.environ.get('CE_TEST_PG_OPTIONAL') == '1':
        tap.skip_all('CE_TEST_PG_CONNINFO is not set')
    tap.ok(False, '--pg needs CE_TEST_PG_CONNINFO (run it under tests/pg-harness.sh)')
    tap.done()

READ, ADMIN = httplib.READ, httplib.ADMIN
WORK = tempfile.mkdtemp(prefix='ce-http-sched-')
DB = os.path.join(WORK, 'conf.db')
if PG:
    store = 'backend=postgresql\npg_conninfo=%s\n' % CONNINFO
    subprocess.run(['psql', CONNINFO, '-q', '-c',
                    'DROP TABLE IF EXISTS participants, conferences, live_rooms, events, cdrs,'
                    ' schema_migrations CASCADE'], check=True, capture_output=True)
else:
    store = 'sqlite_path=%s\n' % DB
eng = httplib.Engine('''
route ^800$ schedule/800
at 6 call 1001 800 play=tone:440 param.pin=1234
at 6 call 1002 800 param.pin=4321
end 300
''', httplib.http_conf('timeout=5', 'max_duration=48'),
    extra='[store]\n%sspool_dir=%s/spool\nquery_timeout_ms=3000\n[schedule]\npoll_interval=1\n'
          'lobby=false\ndialout=false\n' % (store, WORK))
answers = []
JSON = {'Content-Type': 'application/json'}
US = 1000000


def req(method, path, body=None, token=ADMIN, **kw):
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return eng.json_request(answers, method, path, token, body=body,
                            headers=JSON if body is not None else None, **kw)


def sql(query):
    """The rows of @query on the engine's database (SQLite file or PostgreSQL)."""
    if PG:
        out = subprocess.run(['psql', CONNINFO, '-AtF', '\t', '-c', query], check=True,
                             capture_output=True, text=True).stdout
        return [tuple(line.split('\t')) for line in out.splitlines()]
    db = sqlite3.connect(DB)
    try:
        return [tuple(str(v) for v in row) for row in db.execute(query)]
    finally:
        db.close()


def counts():
    return sql('SELECT (SELECT count(*) FROM conferences), (SELECT count(*) FROM participants)')[0]


def err(doc):
    return (doc or {}).get('error', {}).get('code')


def rfc(t, hours=0):
    """Unix time @t as RFC 3339 with a UTC offset of @hours."""
    tz = datetime.timezone(datetime.timedelta(hours=hours))
    return datetime.datetime.fromtimestamp(int(t), tz).isoformat()


def utc(t):
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime(
        '%Y-%m-%dT%H:%M:%SZ')


def usecs(col, cid):
    expr = ('(extract(epoch FROM %s) * 1000000)::bigint' % col) if PG else col
    return int(sql('SELECT %s FROM conferences WHERE id = %d' % (expr, cid))[0][0])


def refused(name, method, path, body, status, code=None, token=ADMIN, **kw):
    """@method @path with @body gets @status (and error @code), and nothing is stored."""
    before = counts()
    st, doc = req(method, path, body, token=token, **kw)
    tap.ok(st == status and (code is None or err(doc) == code) and
           (doc is None or (doc.get('error') or {}).get('message')),
           '%s: %d %s with a message' % (name, status, code or ''), (st, doc))
    tap.ok(counts() == before, '%s: nothing stored' % name, (before, counts()))
    return doc


try:
    tap.ok(eng.port, 'the engine logs the port it listens on', eng.stderr('HTTP'))
    if not eng.port:
        tap.done()
    now = time.time()
    base = {'access_number': '800', 'title': 'Board', 'pin': '1234', 'moderator_pin': '9999',
            'starts_at': rfc(now - 60, 2), 'ends_at': rfc(now + 3600, 2),
            'time_zone': 'Europe/Berlin', 'early_join_s': 60}
    st, c800 = req('POST', '/api/v1/conferences', base)
    tap.ok(st == 201 and c800.get('id') and c800['status'] == 'scheduled',
           'POST: 201, a scheduled conference with an id', (st, c800))
    cid = c800['id']
    tap.ok(c800['starts_at'] == utc(now - 60) and c800['ends_at'] == utc(now + 3600),
           'its times are answered in UTC (Z)', c800)
    local = datetime.datetime.fromtimestamp(int(now - 60), ZoneInfo('Europe/Berlin'))
    tap.ok(c800['time_zone'] == 'Europe/Berlin' and
           c800['starts_at_local'] == local.isoformat(),
           'and in its time zone, with its offset', c800)
    tap.ok(c800['room'] == '800' and c800['pin'] == '1234' and c800['pin_required'],
           'the room defaults to the access number; the admin sees the PIN', c800)
    tap.ok(usecs('starts_at', cid) == int(now - 60) * US and
           usecs('ends_at', cid) == int(now + 3600) * US,
           'the row holds the very instants (microseconds since the epoch)')
    tap.ok(any("token 'root'" in t and 'conference %d created' % cid in t
               for t in eng.logged('HTTP token', lambda t: 'created' in t)),
           'the booking is logged at NOTE with the token\'s name', eng.stderr('HTTP token'))

    # the engine admits by it as by a row written in SQL
    ok = eng.sim.wait('answered', who='1001', timeout=30)
    tap.ok(ok, 'a caller with the PIN is admitted to the conference booked over the API')
    rej = eng.sim.wait('rejected', who='1002', timeout=30)
    tap.ok(rej and rej.get('error') == 'forbidden', 'one with a wrong PIN is refused', rej)

    # a second one, later, for lists and paging; a third on another number
    later = dict(base, starts_at=rfc(now + 86400, -5), ends_at=rfc(now + 90000, -5),
                 time_zone='America/New_York', pin=None, moderator_pin=None)
    st, c800b = req('POST', '/api/v1/conferences', later)
    tap.ok(st == 201 and c800b['pin_required'] is False and c800b['pin'] is None,
           'a second booking of 800, tomorrow, without PIN', (st, c800b))
    st, c801 = req('POST', '/api/v1/conferences',
                   {'access_number': '801', 'room': 'sales', 'starts_at': rfc(now + 7200),
                    'ends_at': rfc(now + 10800), 'max_participants': 5, 'record': True})
    tap.ok(st == 201 and c801['room'] == 'sales' and c801['max_participants'] == 5,
           'a booking of 801 in room sales', (st, c801))

    # overlapping: 409 naming the other, nothing stored
    doc = refused('an overlapping booking of 800', 'POST', '/api/v1/conferences',
                  dict(base, starts_at=rfc(now + 1800), ends_at=rfc(now + 5400)), 409,
                  'conflict')
    tap.ok(doc and 'conference %d' % cid in doc['error']['message'],
           'the conflict names the conference booked', doc)
    refused('a booking in room sales at its time', 'POST', '/api/v1/conferences',
            {'access_number': '802', 'room': 'sales', 'starts_at': rfc(now + 9000),
             'ends_at': rfc(now + 9900)}, 409, 'conflict')

    # list, filters, paging
    st, doc = req('GET', '/api/v1/conferences', token=READ)
    ids = [c['id'] for c in doc['conferences']] if st == 200 else []
    tap.ok(ids == [cid, c801['id'], c800b['id']] and doc['next_offset'] is None,
           'GET lists them in start order', (st, doc))
    tap.ok(all('pin' not in c and 'moderator_pin' not in c for c in doc['conferences']) and
           doc['conferences'][0]['pin_required'] is True,
           'a read token sees no PIN, only whether there is one', doc)
    st, doc = req('GET', '/api/v1/conferences?number=800', token=READ)
    tap.ok(st == 200 and [c['id'] for c in doc['conferences']] == [cid, c800b['id']],
           '?number=800', doc)
    st, doc = req('GET', '/api/v1/conferences?from=%s&to=%s' % (
        rfc(now + 3700).replace('+', '%2B'), rfc(now + 80000).replace('+', '%2B')), token=READ)
    tap.ok(st == 200 and [c['id'] for c in doc['conferences']] == [c801['id']],
           '?from=&to= (RFC 3339): those that meet the span', doc)
    st, doc = req('GET', '/api/v1/conferences?limit=2', token=READ)
    tap.ok(st == 200 and len(doc['conferences']) == 2 and doc['next_offset'] == 2 and
           doc['limit'] == 2, '?limit=2: a page and next_offset', doc)
    st, doc = req('GET', '/api/v1/conferences?limit=2&offset=2', token=READ)
    tap.ok(st == 200 and [c['id'] for c in doc['conferences']] == [c800b['id']] and
           doc['next_offset'] is None, '?offset=2: the rest', doc)
    for q, why in (('limit=0', 'limit 0'), ('limit=501', 'limit over 500'),
                   ('from=2026-01-01T00:00:00', 'a time without zone'),
                   ('status=maybe', 'an unknown status'), ('colour=red', 'an unknown parameter'),
                   ('offset=-1', 'a negative offset')):
        st, doc = req('GET', '/api/v1/conferences?' + q, token=READ)
        tap.ok(st == 400 and err(doc) == 'bad_request', 'list with %s: 400' % why, (st, doc))

    # one; 404s
    st, doc = req('GET', '/api/v1/conferences/%d' % cid, token=READ)
    tap.ok(st == 200 and doc['id'] == cid and doc['title'] == 'Board', 'GET one', doc)
    for path in ('/api/v1/conferences/999999', '/api/v1/conferences/abc',
                 '/api/v1/conferences/0', '/api/v1/conferences/%d/nothing' % cid):
        st, doc = req('GET', path, token=READ)
        tap.ok(st == 404 and err(doc) == 'not_found', 'GET %s: 404' % path, (st, doc))

    # participants
    P = '/api/v1/conferences/%d/participants' % cid
    st, ann = req('POST', P, {'name': 'Ann', 'address': '9001', 'dial_out': True,
                              'role': 'moderator', 'number': '+49 30 1234', 'pin': '55555'})
    tap.ok(st == 201 and ann['dial_out'] and ann['role'] == 'moderator' and
           ann['conference_id'] == cid, 'POST a participant: 201', (st, ann))
    mean = "Bob'); DROP TABLE participants; --"
    st, bob = req('POST', P, {'name': mean})
    tap.ok(st == 201 and bob['role'] == 'participant' and not bob['dial_out'],
           'a participant named with SQL metacharacters', (st, bob))
    tap.ok(sql('SELECT name FROM participants WHERE id = %d' % bob['id']) == [(mean,)],
           'is stored literally')
    st, doc = req('GET', P, token=READ)
    tap.ok(st == 200 and [p['name'] for p in doc['participants']] == ['Ann', mean] and
           'pin' not in doc['participants'][0], 'GET lists them (no PIN for a read token)', doc)
    for name, body in (('dial_out without address', {'name': 'C', 'dial_out': True}),
                       ('an unknown role', {'name': 'C', 'role': 'boss'}),
                       ('a PIN of letters', {'name': 'C', 'pin': 'abcd'}),
                       ('a number without digits', {'name': 'C', 'number': '+-'}),
                       ('dial_out as a string', {'name': 'C', 'dial_out': 'yes'}),
                       ('an unknown member', {'name': 'C', 'email': 'c@x'})):
        refused('participant with ' + name, 'POST', P, body, 400, 'bad_request')
    refused('a participant of no conference', 'POST',
            '/api/v1/conferences/999999/participants', {'name': 'C'}, 404, 'not_found')
    st, doc = req('DELETE', '%s/%d' % (P, bob['id']))
    tap.ok(st == 200 and doc == {'id': bob['id'], 'deleted': True}, 'DELETE a participant', doc)
    refused('the same participant again', 'DELETE', '%s/%d' % (P, bob['id']), None, 404,
            'not_found')

    # PATCH and PUT
    st, doc = req('PATCH', '/api/v1/conferences/%d' % c801['id'],
                  {'title': "Sales'; DELETE FROM conferences; --", 'max_participants': None})
    tap.ok(st == 200 and doc['title'].startswith('Sales') and doc['max_participants'] is None
           and doc['record'] is True and doc['room'] == 'sales',
           'PATCH changes what it names and keeps the rest', (st, doc))
    tap.ok(sql('SELECT title FROM conferences WHERE id = %d' % c801['id']) ==
           [("Sales'; DELETE FROM conferences; --",)], 'the title is stored literally')
    st, doc = req('PUT', '/api/v1/conferences/%d' % c801['id'],
                  {'access_number': '801', 'starts_at': rfc(now + 7200),
                   'ends_at': rfc(now + 14400)})
    tap.ok(st == 200 and doc['record'] is False and doc['room'] == '801' and
           doc['title'] == '' and doc['ends_at'] == utc(now + 14400),
           'PUT replaces the whole conference (defaults for what it leaves out)', (st, doc))
    st, doc = req('POST', '/api/v1/conferences',
                  {'access_number': '801', 'starts_at': rfc(now + 14400),
                   'ends_at': rfc(now + 18000)})
    tap.ok(st == 201, 'a booking that starts when the other ends (back to back)', (st, doc))
    refused('PUT without the times', 'PUT', '/api/v1/conferences/%d' % c801['id'],
            {'access_number': '801'}, 400, 'bad_request')
    refused('PATCH that ends before it starts', 'PATCH', '/api/v1/conferences/%d' % c801['id'],
            {'ends_at': rfc(now + 3600)}, 400, 'bad_request')
    refused('PATCH onto 800 at its time', 'PATCH', '/api/v1/conferences/%d' % c801['id'],
            {'access_number': '800', 'starts_at': rfc(now + 600), 'ends_at': rfc(now + 900)},
            409, 'conflict')
    refused('PATCH of no conference', 'PATCH', '/api/v1/conferences/999999', {'title': 'x'},
            404, 'not_found')

    # bad bookings: 4xx and nothing stored
    def booking(**kw):
        b = dict(base, starts_at=rfc(now + 30 * 86400), ends_at=rfc(now + 30 * 86400 + 3600))
        b.update(kw)
        return {k: v for k, v in b.items() if v is not Ellipsis}
    C = '/api/v1/conferences'
    refused('malformed JSON', 'POST', C, b'{"access_number": "800",', 400, 'bad_json')
    refused('no body', 'POST', C, b'', 400, 'bad_json')
    refused('a JSON array', 'POST', C, b'[1, 2]', 400, 'bad_request')
    refused('an unknown member', 'POST', C, booking(colour='red'), 400, 'bad_request')
    refused('a read-only member', 'POST', C, booking(id=5), 400, 'bad_request')
    refused('a number as access_number', 'POST', C, booking(access_number=800), 400,
            'bad_request')
    refused('a string as early_join_s', 'POST', C, booking(early_join_s='60'), 400,
            'bad_request')
    refused('a fraction as max_participants', 'POST', C, booking(max_participants=2.5), 400,
            'bad_request')
    refused('a missing access_number', 'POST', C, booking(access_number=...), 400,
            'bad_request')
    refused('a time without zone', 'POST', C,
            booking(starts_at=rfc(now + 30 * 86400)[:19]), 400, 'bad_request')
    refused('a date only', 'POST', C, booking(starts_at='2030-01-01'), 400, 'bad_request')
    refused('February 30', 'POST', C, booking(starts_at='2030-02-30T10:00:00Z'), 400,
            'bad_request')
    refused('a time before 2000', 'POST', C,
            booking(starts_at='1999-12-31T23:00:00Z', ends_at='1999-12-31T23:30:00Z'), 400,
            'bad_request')
    refused('a time more than 10 years ahead', 'POST', C,
            booking(starts_at=rfc(now + 11 * 366 * 86400),
                    ends_at=rfc(now + 11 * 366 * 86400 + 3600)), 400, 'bad_request')
    refused('an end before the start', 'POST', C,
            booking(ends_at=rfc(now + 30 * 86400 - 60)), 400, 'bad_request')
    refused('an end at the start', 'POST', C, booking(ends_at=rfc(now + 30 * 86400)), 400,
            'bad_request')
    refused('49 hours ([http] max_duration=48)', 'POST', C,
            booking(ends_at=rfc(now + 30 * 86400 + 49 * 3600)), 400, 'bad_request')
    refused('a PIN of letters', 'POST', C, booking(pin='12a4'), 400, 'bad_request')
    refused('a PIN of 3 digits', 'POST', C, booking(pin='123'), 400, 'bad_request')
    refused('a PIN of 33 digits', 'POST', C, booking(pin='1' * 33), 400, 'bad_request')
    refused('the same PIN for moderators', 'POST', C, booking(pin='9999'), 400, 'bad_request')
    refused('an unknown time zone', 'POST', C, booking(time_zone='Mars/Olympus'), 400,
            'bad_request')
    refused('an access number with a quote', 'POST', C, booking(access_number="8'00"), 400,
            'bad_request')
    refused('a control character in the title', 'POST', C, booking(title='a\x07b'), 400,
            'bad_request')
    refused('a 1 MB body', 'POST', C, b'{"title": "' + b'x' * (1 << 20) + b'"}', 413,
            'body_too_large')
    refused('a read token', 'POST', C, booking(), 403, 'forbidden', token=READ)
    refused('no token', 'POST', C, booking(), 401, 'unauthorized', token=None)
    st, doc = req('PUT', C, booking())
    tap.ok(st == 405 and answers[-1][3].get('allow') == 'GET, POST',
           'PUT on the list: 405 with Allow: GET, POST', (st, answers[-1][3]))

    # cancel, then the number is free again; delete
    st, doc = req('POST', '/api/v1/conferences/%d/cancel' % c800b['id'])
    tap.ok(st == 200 and doc['status'] == 'cancelled', 'cancel: 200, cancelled', (st, doc))
    st, doc = req('POST', '/api/v1/conferences/%d/cancel' % c800b['id'])
    tap.ok(st == 200 and doc['status'] == 'cancelled', 'cancel again: 200, as it was', doc)
    st, doc = req('GET', '/api/v1/conferences?status=cancelled', token=READ)
    tap.ok(st == 200 and [c['id'] for c in doc['conferences']] == [c800b['id']],
           '?status=cancelled', doc)
    st, doc = req('GET', '/api/v1/conferences?status=scheduled&number=800', token=READ)
    tap.ok(st == 200 and [c['id'] for c in doc['conferences']] == [cid],
           '?status=scheduled', doc)
    st, c800c = req('POST', C, dict(later, title='instead'))
    tap.ok(st == 201, 'the cancelled booking\'s time can be booked again', (st, c800c))
    st, doc = req('DELETE', '/api/v1/conferences/%d' % cid)
    tap.ok(st == 200 and doc == {'id': cid, 'deleted': True}, 'DELETE: 200', doc)
    tap.ok(sql('SELECT count(*) FROM participants WHERE conference_id = %d' % cid) == [('0',)],
           'its participants are deleted with it')
    refused('GET of the deleted one', 'GET', '/api/v1/conferences/%d' % cid, None, 404,
            'not_found', token=READ)
    refused('DELETE again', 'DELETE', '/api/v1/conferences/%d' % cid, None, 404, 'not_found')
    writes = eng.logged('HTTP token', lambda t: 'conference %d deleted' % cid in t)
    tap.ok(all("token 'root'" in t for t in writes) and
           any('participant added' in t for t in writes) and
           any('cancelled' in t for t in writes) and any('changed' in t for t in writes),
           'every write is logged with the token\'s name', writes)

    if PG:
        subprocess.run(os.environ['CE_TEST_PG_STOP'], shell=True, check=True,
                       capture_output=True)
        t0 = time.monotonic()
        st, doc = req('GET', '/api/v1/conferences', token=READ)
        hd = answers[-1][3]
        tap.ok(st == 503 and err(doc) == 'store_unavailable' and hd.get('retry-after'),
               'PostgreSQL stopped: 503 store_unavailable with Retry-After', (st, doc, hd))
        tap.ok(time.monotonic() - t0 < httplib.WAIT, 'answered, not hung')
        subprocess.run(os.environ['CE_TEST_PG_START'], shell=True, check=True,
                       capture_output=True)
        st, doc = eng.wait(lambda s, d: s == 200, '/api/v1/conferences', READ, timeout=60)
        tap.ok(st == 200, 'the server back: the list answers again', (st, doc))

    httplib.answers_documented(tap, eng, answers, READ)
    httplib.ends_well(tap, eng)
finally:
    eng.close()
    shutil.rmtree(WORK, ignore_errors=True)
tap.done()
