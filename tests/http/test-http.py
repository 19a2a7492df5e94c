#!/usr/bin/env python3
"""test-http.py - the HTTP API over real HTTP on loopback, against the engine under yate-sim (TAP).

Two callers talk in room 'main' (one a 440 Hz tone, one silence) and one
waits in a room whose name needs escaping; the engine has [http] with a
read token and an admin token.  Shown, each answer also checked against
the OpenAPI document the server serves (status code, content type, the
top-level fields required and no undocumented one):
- /healthz without a token: 200, Yate up, media alive, no store;
- no token, a wrong token, a non-Bearer header: 401 with WWW-Authenticate:
  Bearer and a JSON error; both roles' tokens read;
- /metrics parses as Prometheus text 0.0.4 (the parser below refuses any
  other line), its counters are the status line's (rooms, legs, link
  state) and the per-room gauges have the rooms, the odd name escaped;
- /api/v1/rooms and /api/v1/rooms/main: the rooms, the legs with their
  callers, states, mute/talk flags and RTP figures; the talker is seen
  talking; an unknown room and an unknown path: 404 JSON errors;
- POST: 405 with Allow: GET; a 1 MB body: 413 before it is read, and the
  room is as it was; a chunked body: 411;
- a hundred requests leave no descriptor open; connections that send
  nothing (or half a request) do not hold up others and are closed after
  [http] timeout;
- ten failed authentications from 127.0.0.2 get it 429 with Retry-After,
  even with a good token, while 127.0.0.1 still gets in.
"""
import json
import os
import socket
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httplib  # noqa: E402
import simlib  # noqa: E402

tap = httplib.engine_tap()

READ, ADMIN = httplib.READ, httplib.ADMIN
# Room names hold letters, digits and -_.@+#* only (the conference refuses others; '#' would
# start a comment in the scenario): the path carries this one percent-encoded.
ODD = 'a+b@c.d*e'
eng = httplib.Engine('''
route ^800$ conf/main notify=mon/main speakers=true
route ^801$ 'conf/%s' lonely=true
at 0 call 1001 800 play=%s
at 0.3 call 1002 800 play=silence
at 0.6 call 1003 801 play=silence
end 300
''' % (ODD, simlib.data('speech.wav')),
    httplib.http_conf('auth_failures=10', 'auth_window=60', 'timeout=3'))
answers = []  # (path, method, status, headers, body) for the OpenAPI check


def req(method, path, token=None, **kw):
    st, hd, body = eng.request(method, path, token, **kw)
    answers.append((path, method, st, hd, body))
    return st, hd, body


def err_code(body):
    try:
        return json.loads(body)['error']['code']
    except (ValueError, KeyError, TypeError):
        return None


try:
    tap.ok(eng.port, 'the engine logs the port it listens on', eng.stderr('HTTP'))
    if not eng.port:
        tap.done()
    st, doc = eng.wait(lambda s, d: s == 200 and len(d['rooms']) == 2, '/api/v1/rooms', READ)
    st, talk = eng.wait(lambda s, d: s == 200 and d and d.get('participants') == 2 and
                        any(l['caller'] == '1001' and l['talking'] for l in d['legs']),
                        '/api/v1/rooms/main', READ)
    tap.ok(st == 200 and talk['participants'] == 2,
           'the room holds its two callers, seen through the API', talk)
    talking = {l['caller']: l['talking'] for l in talk['legs']}
    tap.ok(talking == {'1001': True, '1002': False} and talk['talkers'] == 1,
           'the speaker is seen talking, the silent caller not', talk)

    # /healthz
    st, hd, body = req('GET', '/healthz')
    h = json.loads(body)
    tap.ok(st == 200 and h['status'] == 'ok' and h['yate'] == 'up' and
           h['media'] == 'alive' and h['store'] == 'none',
           '/healthz without a token: 200, Yate up, media alive, no store', h)

    # authentication
    st, hd, body = req('GET', '/metrics')
    tap.ok(st == 401 and hd.get('www-authenticate', '').startswith('Bearer') and
           err_code(body) == 'unauthorized', 'no token: 401, WWW-Authenticate: Bearer', (st, hd))
    st, hd, body = req('GET', '/api/v1/rooms', 'not-the-secret')
    tap.ok(st == 401 and 'invalid_token' in hd.get('www-authenticate', ''),
           'a wrong token: 401 invalid_token', (st, hd, body))
    st, hd, body = req('GET', '/api/v1/rooms', headers={'Authorization': 'Basic ' + READ})
    tap.ok(st == 401, 'a secret that is not a Bearer token: 401', st)
    st, hd, body = req('GET', '/api/v1/rooms', ADMIN)
    tap.ok(st == 200, 'the admin token reads too', st)

    # /metrics
    st, hd, body = req('GET', '/metrics', READ)
    tap.ok(st == 200 and hd.get('content-type', '').startswith('text/plain; version=0.0.4'),
           '/metrics: 200 text/plain version 0.0.4', hd.get('content-type'))
    try:
        samples = httplib.parse_prometheus(body.decode())
        why = None
    except ValueError as e:
        samples, why = [], str(e)
    tap.ok(samples and not why, '/metrics parses as the Prometheus text format', why)
    val = {(n, tuple(sorted(lb.items()))): v for n, lb, v in samples}
    tap.ok(val.get(('conf_engine_rooms', ())) == 2 and val.get(('conf_engine_legs', ())) == 3,
           'the status line\'s counters: 2 rooms, 3 legs',
           [(k, v) for k, v in val.items() if k[0] in ('conf_engine_rooms', 'conf_engine_legs')])
    info = [lb for n, lb, v in samples if n == 'conf_engine_status_info']
    tap.ok(info and info[0].get('linkstate') == 'up' and info[0].get('link') == 'stdio',
           'the status line\'s words are labels of conf_engine_status_info', info)
    tap.ok(val.get(('conf_engine_room_participants', (('room', 'main'),))) == 2 and
           val.get(('conf_engine_room_participants', (('room', ODD),))) == 1,
           'per-room participants of both rooms', 
           [(k, v) for k, v in val.items() if k[0].startswith('conf_engine_room_')])
    tap.ok(('conf_engine_room_talkers', (('room', 'main'),)) in val and
           val.get(('conf_engine_room_talkers', (('room', ODD),))) == 0,
           'per-room talkers of both rooms (the silent room: 0)')
    tap.ok(any(n == 'conf_engine_media_ticks' and v > 0 for n, lb, v in samples) and
           any(n == 'conf_engine_dispatched' for n, lb, v in samples),
           'media and bus counters are there')

    # rooms
    st, hd, body = req('GET', '/api/v1/rooms', READ)
    rooms = json.loads(body).get('rooms', [])
    tap.ok(st == 200 and sorted(r['name'] for r in rooms) == sorted(['main', ODD]) and
           all('legs' not in r for r in rooms), '/api/v1/rooms lists both rooms, without legs',
           rooms)
    st, hd, body = req('GET', '/api/v1/rooms/main', READ)
    room = json.loads(body)
    legs = {l['caller']: l for l in room.get('legs', [])}
    tap.ok(st == 200 and set(legs) == {'1001', '1002'} and
           all(l['state'] == 'joined' and not l['muted'] and not l['deaf'] and
               l['id'].startswith('dumb/') for l in legs.values()),
           '/api/v1/rooms/main: both legs, joined, with their callers and channels', room)
    tap.ok(all(l['rtp'].get('rtp_in', 0) > 0 and 'jitter_ms' in l['rtp'] for l in legs.values()),
           'each leg has its RTP figures', [l['rtp'] for l in legs.values()])

    def level(caller):
        return lambda st, d: st == 200 and any(
            l['caller'] == caller and l['rtp'].get('level_db', -127) > -45 for l in d['legs'])
    st, r = eng.wait(level('1001'), '/api/v1/rooms/main', READ)
    lv = {l['caller']: l['rtp'].get('level_db') for l in r.get('legs', [])}
    tap.ok(lv.get('1001', -127) > -45 and lv.get('1002', 0) < -60,
           'level_db: the speaker\'s speech is heard at its level, the silent caller at none', lv)
    quoted = '/api/v1/rooms/' + urllib.parse.quote(ODD, safe='')
    st, hd, body = req('GET', quoted, READ)
    tap.ok(st == 200 and json.loads(body).get('name') == ODD,
           'a room name with + @ *, percent-encoded', body)
    st, hd, body = req('GET', '/api/v1/rooms/nosuch', READ)
    tap.ok(st == 404 and err_code(body) == 'not_found', 'an unknown room: 404 JSON error', body)
    st, hd, body = eng.get('/api/v1/rooms/%FF%FE', READ)
    tap.ok(st == 404 and err_code(body) == 'not_found',
           'a room name that is not UTF-8: 404, still valid JSON', body)
    st, hd, body = eng.get('/api/v1/rooms/a%2Fb', READ)
    tap.ok(st == 404 and err_code(body) == 'not_found', 'a name holding %2F: 404', body)
    st, hd, body = req('GET', '/api/v1/nothing', READ)
    tap.ok(st == 404 and err_code(body) == 'not_found', 'an unknown path: 404 JSON error', body)

    # methods and bodies
    st, hd, body = req('POST', '/api/v1/rooms', READ, body=b'{}',
                       headers={'Content-Type': 'application/json'})
    tap.ok(st == 405 and hd.get('allow') == 'GET' and err_code(body) == 'method_not_allowed',
           'POST: 405 with Allow: GET', (st, hd, body))
    before = eng.get('/api/v1/rooms/main', READ)[2]
    st, hd, body = req('POST', '/api/v1/rooms/main', READ, body=b'x' * (1 << 20),
                       headers={'Content-Type': 'application/json'})
    tap.ok(st == 413 and err_code(body) == 'body_too_large', 'a 1 MB body: 413', (st, body))
    after = json.loads(eng.get('/api/v1/rooms/main', READ)[2])
    tap.ok(after['participants'] == json.loads(before)['participants'] and
           not eng.stderr('POST'), 'and nothing happened: the room is as it was')
    st, hd, body = req('POST', '/api/v1/rooms', READ, body=iter([b'{', b'}']),
                       headers={'Transfer-Encoding': 'chunked'}, encode_chunked=True)
    tap.ok(st == 411 and err_code(body) == 'length_required', 'a chunked body: 411', (st, body))

    # the OpenAPI document, and every answer so far checked against it
    st, hd, body = req('GET', '/api/v1/openapi.json', READ)
    doc = json.loads(body)
    tap.ok(st == 200 and doc.get('openapi', '').startswith('3.'), 'the OpenAPI 3 document')
    actions = ['lock', 'unlock', 'end', 'record/start', 'record/stop', 'play', 'play/stop'] + \
        ['legs/{id}/' + a for a in ('mute', 'unmute', 'deaf', 'undeaf', 'kick', 'play',
                                    'play/stop')]
    tap.ok(set(doc['paths']) == {'/healthz', '/metrics', '/api/v1/openapi.json',
                                 '/api/v1/rooms', '/api/v1/rooms/{name}', '/api/v1/events',
                                 '/api/v1/token'} |
           {'/api/v1/history/events', '/api/v1/history/cdrs'} |
           {'/api/v1/calls', '/api/v1/calls/{id}'} |
           {'/api/v1/rooms/{name}/' + a for a in actions} |
           {'/api/v1/conferences' + p for p in ('', '/{id}', '/{id}/cancel', '/{id}/participants',
                                                '/{id}/participants/{pid}')},
           'it describes exactly the endpoints served', sorted(doc['paths']))
    bad = httplib.openapi_misses(doc, answers)
    tap.ok(len(answers) >= 15 and not bad, 'every answer (%d) is one the document describes'
           % len(answers), bad)
    leg_schema = httplib.resolve(doc, doc['components']['schemas']['Leg'])
    tap.ok(all(set(leg_schema['required']) <= set(l) and set(l) <= set(leg_schema['properties'])
               for l in legs.values()), 'the legs are the document\'s Leg', leg_schema['required'])

    # connections: none kept after its answer, a silent one dropped after [http] timeout
    pid = eng.sim.engine_pid()
    fds = lambda: len(os.listdir('/proc/%d/fd' % pid))  # noqa: E731
    n0 = fds()
    codes = {eng.get('/healthz')[0] for i in range(100)}
    # the engine closes the last connection just after its answer is read: wait, bounded
    end = time.monotonic() + httplib.WAIT
    while fds() > n0 and time.monotonic() < end:
        time.sleep(0.05)
    tap.ok(codes == {200} and fds() <= n0, '100 requests leave no descriptor behind', (n0, fds()))
    idle = [socket.create_connection(('127.0.0.1', eng.port), timeout=httplib.WAIT)
            for i in range(5)]
    idle[0].sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n')  # and never ends its headers
    st = eng.get('/healthz')[0]
    tap.ok(st == 200, 'silent clients do not hold up the others', st)
    closed = [s.recv(100) == b'' for s in idle]
    tap.ok(all(closed), 'the silent connections are closed by the engine (timeout=3)', closed)
    for s in idle:
        s.close()

    # the rate limit, from another loopback address
    codes = [eng.get('/metrics', 'wrong-%d' % i, source='127.0.0.2')[0] for i in range(10)]
    st, hd, body = req('GET', '/metrics', READ, source='127.0.0.2')
    tap.ok(codes == [401] * 10 and st == 429 and int(hd.get('retry-after', '0')) > 0 and
           err_code(body) == 'too_many_failures',
           'ten failures from 127.0.0.2: then 429 with Retry-After, even with a good token',
           (codes, st, hd.get('retry-after')))
    st2 = eng.get('/metrics', READ)[0]
    tap.ok(st2 == 200, '127.0.0.1 still gets in', st2)
    tap.ok(eng.logged('10 failed authentications'), 'the lock-out is logged once')
    httplib.ends_well(tap, eng)
finally:
    eng.close()
tap.done()
