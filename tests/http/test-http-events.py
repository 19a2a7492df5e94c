#!/usr/bin/env python3
"""test-http-events.py - GET /api/v1/events: the monitor's events as Server-Sent Events (TAP).

The engine runs under yate-sim with [http] (a read and an admin token,
max_event_clients=3, a 4 KiB event_queue); a caller plays speech into room
'main', a silent one joins it, another joins room 'other'.  Shown, over
real HTTP on loopback:
- a stream receives the callers' enter and talker events in order, each
  'id:' the event's seq, increasing by one from the engine's start time in
  microseconds (so that a later run's ids are greater); its body is not
  chunked but ends with the connection (Connection: close);
- a client that disconnects and resumes with Last-Event-ID gets exactly
  the events after it (those of the disconnection first: a mute and unmute
  made meanwhile), nothing twice and nothing missed; ?since= does the same;
- ?room=other carries only room 'other' events; a bad Last-Event-ID or
  ?conference= is 400;
- a fourth client with max_event_clients=3: 503 with Retry-After; /metrics
  counts the clients (conf_engine_http_event_clients) and the count falls
  when they leave;
- a client that never reads (nor closes) is cut off once its queue passes
  event_queue, logged, while the engine answers other requests all along;
- ?since= older than the 100 lines kept ([monitor] resume_events), no
  store: an 'event: gap' naming the ids lost, then the oldest kept (a
  resume of far more than event_queue bytes, fed as the socket drains);
  an id of an earlier run (below this run's first) gets 'event: reset';
- the answers are the OpenAPI document's; the engine stops cleanly with a
  stream open.
"""
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httplib  # noqa: E402
import simlib  # noqa: E402

tap = httplib.engine_tap()

READ, ADMIN = httplib.READ, httplib.ADMIN
started_us = int(time.time() * 1e6)
eng = httplib.Engine('''
route ^800$ conf/main notify=conf-monitor/main speakers=true
route ^801$ conf/other notify=conf-monitor/other lonely=true
at 0 call 1001 800 play=%s
at 0.3 call 1002 800 play=silence
at 0.6 call 1003 801 play=silence
end 300
''' % simlib.data('speech.wav'),
    httplib.http_conf('timeout=3', 'max_event_clients=3', 'event_queue=4096'),
    extra='[monitor]\nresume_events=100')
answers = []


def req(method, path, token=None, **kw):
    st, hd, body = eng.request(method, path, token, **kw)
    answers.append((path, method, st, hd, body))
    return st, hd, body


def metric(name):
    st, hd, body = eng.get('/metrics', READ)
    for line in body.decode().splitlines():
        if line.startswith(name + ' '):
            return int(line.split()[1])
    return None


def kind(ev):
    return ev['data'].get('event') or ev['data'].get('type')


def consecutive(evs):
    ids = [e.get('id') for e in evs]
    return all(isinstance(i, int) for i in ids) and \
        all(b == a + 1 for a, b in zip(ids, ids[1:])) and \
        all(e['data'].get('seq') == e['id'] for e in evs)


try:
    tap.ok(eng.port, 'the engine logs the port it listens on', eng.stderr('HTTP'))
    if not eng.port:
        tap.done()
    eng.wait(lambda s, d: s == 200 and d and d.get('participants') == 2, '/api/v1/rooms/main',
             READ)

    # the stream from the start: enter, then talk-start of the speaker
    a = httplib.Events(eng, READ)
    answers.append(('/api/v1/events', 'GET', a.status, a.headers, a.body or b''))
    tap.ok(a.status == 200 and a.headers.get('content-type', '').startswith('text/event-stream'),
           'GET /api/v1/events: 200 text/event-stream', (a.status, a.headers))
    # one TCP send per event and client: the body is not chunked (libsoup sends a chunk's
    # size, data and CRLF apart) but ends with the connection, which the answer says
    tap.ok('transfer-encoding' not in a.headers and 'content-length' not in a.headers and
           a.headers.get('connection', '').lower() == 'close',
           'the stream is not chunked: its body ends with the connection (Connection: close)',
           a.headers)
    seen = set()

    def both_in(e):
        if kind(e) == 'enter' and e['data'].get('room') == 'main':
            seen.add(e['data'].get('caller'))
        return seen >= {'1001', '1002'}
    evs = a.until(both_in)
    talk = [e for e in evs if kind(e) == 'talk-start']
    enter = [e for e in evs if kind(e) == 'enter' and e['data'].get('caller') == '1001']
    tap.ok(seen >= {'1001', '1002'} and talk and enter and talk[0]['id'] > enter[0]['id'] and
           talk[0]['data'].get('leg') == enter[0]['data'].get('leg'),
           'both callers\' enter events, and the speaker\'s talk-start after its enter',
           [(e['id'], kind(e)) for e in evs])
    tap.ok(evs and started_us < evs[0]['id'] < time.time() * 1e6 and consecutive(evs),
           'ids are the seq of each event, from the start time in microseconds, increasing '
           'by one', (started_us, [e['id'] for e in evs]))
    first = evs[0]['id']
    last = evs[-1]['id']
    a.close()

    # disconnected: a mute and an unmute happen meanwhile
    st, hd, body = req('GET', '/api/v1/rooms/main', READ)
    leg = [l for l in json.loads(body)['legs'] if l['caller'] == '1002'][0]['id']
    path = '/api/v1/rooms/main/legs/%s/' % leg.replace('/', '%2F')
    codes = [req('POST', path + op, ADMIN)[0] for op in ('mute', 'unmute')]
    tap.ok(codes == [200, 200], 'mute and unmute while the client is away', codes)
    b = httplib.Events(eng, READ, last=last)
    evs2 = b.until(lambda e: kind(e) == 'unmute')
    tap.ok(evs2 and evs2[0]['id'] == last + 1 and consecutive(evs2),
           'resumed with Last-Event-ID: the next id first, none missed, none repeated',
           (last, [e['id'] for e in evs2]))
    tap.ok([kind(e) for e in evs2 if kind(e) in ('mute', 'unmute')] == ['mute', 'unmute'],
           'the events of the disconnection arrive', [kind(e) for e in evs2])
    b.close()
    c = httplib.Events(eng, READ, path='/api/v1/events?since=%d' % last)
    evs3 = c.until(lambda e: kind(e) == 'unmute')
    tap.ok([e['id'] for e in evs3] == [e['id'] for e in evs2], '?since= resumes the same way',
           [e['id'] for e in evs3])
    c.close()

    # filters and bad parameters
    d = httplib.Events(eng, READ, path='/api/v1/events?room=other&since=0')
    evs4 = d.until(lambda e: kind(e) == 'enter', timeout=5)
    evs4 += d.until(lambda e: False, timeout=1.5)
    tap.ok(evs4 and all(e['data'].get('room') == 'other' for e in evs4) and
           any(kind(e) == 'enter' and e['data'].get('caller') == '1003' for e in evs4),
           '?room=other: only room other\'s events, 1003 entering', [kind(e) for e in evs4])
    d.close()
    for p, h in (('/api/v1/events?conference=abc', None), ('/api/v1/events', 'x1')):
        st, hd, body = req('GET', p, READ, headers={'Last-Event-ID': h} if h else None)
        tap.ok(st == 400, '%s%s: 400' % (p, ' Last-Event-ID: ' + h if h else ''), (st, body))

    # too many clients, counted in /metrics
    end = time.monotonic() + httplib.WAIT
    while metric('conf_engine_http_event_clients') and time.monotonic() < end:
        time.sleep(0.1)
    streams = [httplib.Events(eng, READ) for i in range(3)]
    fourth = httplib.Events(eng, READ)
    answers.append(('/api/v1/events', 'GET', fourth.status, fourth.headers, fourth.body))
    tap.ok([s.status for s in streams] == [200] * 3 and fourth.status == 503 and
           int(fourth.headers.get('retry-after', '0')) > 0,
           'max_event_clients=3: the fourth gets 503 with Retry-After',
           (fourth.status, fourth.headers, fourth.body))
    tap.ok(metric('conf_engine_http_event_clients') == 3, '/metrics counts 3 event clients',
           metric('conf_engine_http_event_clients'))
    for s in streams:
        s.close()
    end = time.monotonic() + httplib.WAIT
    while metric('conf_engine_http_event_clients') and time.monotonic() < end:
        time.sleep(0.1)
    tap.ok(metric('conf_engine_http_event_clients') == 0, 'and 0 once they left')

    # a client that never reads: closed when its queue passes event_queue
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    slow.connect(('127.0.0.1', eng.port))
    slow.sendall(('GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n'
                  % READ).encode())
    end = time.monotonic() + 60
    answered, n = True, 0
    while not eng.stderr('closed: it does not read') and time.monotonic() < end:
        st = req('POST', path + ('mute' if n % 2 == 0 else 'unmute'), ADMIN)[0]
        answered = answered and st == 200
        n += 1
    tap.ok(eng.stderr('closed: it does not read'),
           'the client that never reads is closed, and logged (after %d events)' % n)
    tap.ok(answered and eng.get('/healthz')[0] == 200,
           'every other request was answered meanwhile')
    end = time.monotonic() + httplib.WAIT
    while metric('conf_engine_http_event_clients') and time.monotonic() < end:
        time.sleep(0.1)
    tap.ok(metric('conf_engine_http_event_clients') == 0,
           'the engine dropped it (its socket still open on our side): no longer counted')
    slow.close()

    # resuming from further back than the 100 lines kept: a gap event says what is lost
    for i in range(120):
        eng.request('POST', path + ('mute' if i % 2 == 0 else 'unmute'), ADMIN)
    g = httplib.Events(eng, READ, path='/api/v1/events?since=%d' % first)
    evs5 = g.until(lambda e: 'id' in e)
    g.close()
    gap = evs5[0] if evs5 else {}
    tap.ok(gap.get('event') == 'gap' and gap['data'].get('from') == first + 1 and
           len(evs5) == 2 and evs5[1]['id'] == gap['data'].get('to') + 1,
           'since= the first id with only 100 lines kept: event gap (from the next to the one '
           'before the oldest kept), then the oldest kept', evs5[:2])
    r = httplib.Events(eng, READ, last=first - 2)
    evs6 = r.until(lambda e: 'id' in e)
    r.close()
    tap.ok(evs6 and evs6[0].get('event') == 'reset' and len(evs6) == 2 and
           evs6[1]['id'] == gap['data'].get('to') + 1,
           'an id of an earlier run, no store: event reset, then every line kept', evs6[:2])

    # a stream still open when the engine stops
    open_at_stop = httplib.Events(eng, READ)
    st, hd, body = req('GET', '/api/v1/openapi.json', READ)
    doc = json.loads(body)
    bad = httplib.openapi_misses(doc, answers)
    tap.ok(not bad, 'every answer (%d) is one the document describes' % len(answers), bad)
    httplib.ends_well(tap, eng,
                      'the engine stops cleanly with a stream open (no sanitizer report)')
    open_at_stop.close()
finally:
    eng.close()
tap.done()
