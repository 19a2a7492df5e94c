#!/usr/bin/env python3
"""test-http-calls.py - POST /api/v1/calls: "call this number into that room" (TAP).

The engine runs under yate-sim with [http] (a read and an admin token,
max_calls=3, max_room_calls=2); caller 1001 is in room 'main' (a 440 Hz
tone), caller 1002 in room 'other'.  The simulator's phones answer the
dial-outs as Yate does (tests/sim/phones.c): 9001 and 9007 answer (9001 plays 660 Hz), 9002
is busy, 9003 rings until the call's maxcall= runs out (Yate's
Channel::checkTimers drops it with noanswer), 9004 is offline, 9006
rejects, and 5555 has no route.  Shown, each answer checked against the
OpenAPI document:
- 202 at once with state dialing and a Location; GET then says answered
  with the leg (dumb/N), which is in the room; later ended when kicked;
- busy, noanswer (after timeout_s), badnumber, unreachable, rejected, each
  with Yate's error in detail;
- every change is a "call" event on /api/v1/events (room filter kept);
- the limits: a third call dialing into one room, a fourth in all: 503
  with Retry-After, and no call placed;
- bad input: 400 (number characters, number and target both, no room,
  wrong types, unknown members, timeout out of range), 404 for a room that
  is not live, 403 for a read token, 405, 413 for a 1 MB body;
- each call placed is logged at NOTE with the token's name;
- the answered callee hears the room (440 Hz) and not itself, and the
  caller hears the callee.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httplib  # noqa: E402
import simlib  # noqa: E402

tap = httplib.engine_tap()

READ, ADMIN = httplib.READ, httplib.ADMIN
STARTED_US = int(time.time() * 1e6)
eng = httplib.Engine('''
route ^800$ conf/main notify=conf-monitor/main
route ^801$ conf/other
callee 9001 answer delay=0.5 play=tone:660 record=9001.wav
callee 9002 busy
callee 9003 noanswer delay=60
callee 9004 offline
callee 9006 reject delay=0.3
callee 9007 answer delay=0.3
at 0 call 1001 800 play=tone:440 record=1001.wav
at 0.3 call 1002 801 play=silence
end 300
''', httplib.http_conf('timeout=5', 'max_calls=3', 'max_room_calls=2', 'call_timeout=30'),
    extra='[conference]\nrtp_timeout=0\n')
answers = []
JSON = {'Content-Type': 'application/json'}


def req(method, path, token=ADMIN, body=None, **kw):
    if isinstance(body, dict):
        body = json.dumps(body)
        kw.setdefault('headers', JSON)
    return eng.json_request(answers, method, path, token, body=body, **kw)


def call(body):
    st, doc = req('POST', '/api/v1/calls', body=body)
    return st, doc


def final(cid, states=('failed', 'ended')):
    st, doc = eng.wait(lambda s, d: s == 200 and d and d['state'] in states,
                       '/api/v1/calls/%d' % cid, READ, timeout=httplib.WAIT)
    answers.append(('/api/v1/calls/%d' % cid, 'GET', st, {'content-type': 'application/json'},
                    json.dumps(doc)))
    return doc or {}


def err(doc):
    return (doc or {}).get('error', {}).get('code')


def dialouts():
    """The dial-outs Yate was asked for (call.execute callto=dumb/), as the simulator logged them."""
    return [e['params'] for e in eng.sim.events('message', name='call.execute')
            if e['params'].get('callto') == 'dumb/' and 'ce_dialout' in e['params']]


def dialouts_at_least(n):
    """How many dial-outs the simulator logged, once @n are (bounded): it logs a message when
    its dispatch ends, which can come after the API's answer."""
    end = time.monotonic() + httplib.WAIT
    while len(dialouts()) < n and time.monotonic() < end:
        time.sleep(0.05)
    return len(dialouts())


def legs(room):
    st, hd, b = eng.get('/api/v1/rooms/' + room, READ)
    return json.loads(b)['legs'] if st == 200 else []


events = None
try:
    tap.ok(eng.port, 'the engine logs the port it listens on', eng.stderr('HTTP'))
    if not eng.port:
        tap.done()
    eng.wait(lambda s, d: s == 200 and d and d.get('participants') == 1, '/api/v1/rooms/main',
             READ)
    eng.wait(lambda s, d: s == 200 and d and d.get('participants') == 1, '/api/v1/rooms/other',
             READ)
    events = httplib.Events(eng, READ, '/api/v1/events?room=main')
    tap.ok(events.status == 200, 'the event stream of room main opens', events.status)

    # bad input: nothing is placed
    placed = len(dialouts())
    bad = [
        ({'number': '90a1', 'room': 'main'}, 'a number with a letter'),
        ({'number': '9001;x=y', 'room': 'main'}, 'a number with ; and ='),
        ({'number': '9' * 65, 'room': 'main'}, 'a number of 65 digits'),
        ({'number': '9001', 'target': 'sip/9001', 'room': 'main'}, 'both number and target'),
        ({'room': 'main'}, 'neither number nor target'),
        ({'target': '9001', 'room': 'main'}, 'a target that is no Yate target'),
        ({'number': '9001'}, 'no room'),
        ({'number': 9001, 'room': 'main'}, 'a number that is a JSON number'),
        ({'number': '9001', 'room': 'main', 'timeout_s': '30'}, 'timeout_s as a string'),
        ({'number': '9001', 'room': 'main', 'timeout_s': 4}, 'timeout_s below 5'),
        ({'number': '9001', 'room': 'main', 'timeout_s': 601}, 'timeout_s above 600'),
        ({'number': '9001', 'room': 'main', 'role': 'boss'}, 'an unknown role'),
        ({'number': '9001', 'room': 'main', 'callto': 'sip/x'}, 'an unknown member'),
        ({'number': '9001', 'room': "main'; DROP TABLE x;--"}, 'SQL in the room name'),
        ('{"number":"9001",', 'malformed JSON'),
        ('["9001"]', 'an array'),
    ]
    for body, what in bad:
        st, doc = call(body)
        tap.ok(st == 400 and err(doc) in ('bad_request', 'bad_json'), '400 for %s' % what,
               (st, doc))
    st, doc = call({'number': '9001', 'room': 'nowhere'})
    tap.ok(st == 404 and err(doc) == 'not_found' and 'nowhere' in doc['error']['message'],
           '404 for a room that is not live', (st, doc))
    st, doc = req('POST', '/api/v1/calls', READ, json.dumps({'number': '9001', 'room': 'main'}),
                  headers=JSON)
    tap.ok(st == 403 and err(doc) == 'forbidden', '403 for a read token', (st, doc))
    st, doc = req('PUT', '/api/v1/calls', body={'number': '9001', 'room': 'main'})
    tap.ok(st == 405, '405 for PUT', (st, doc))
    st, doc = req('DELETE', '/api/v1/calls/1')
    tap.ok(st == 405, '405 for DELETE of a call', (st, doc))
    st, doc = req('POST', '/api/v1/calls',
                  body=json.dumps({'number': '9001', 'room': 'main', 'name': 'x' * (1 << 20)}),
                  headers=JSON)
    tap.ok(st == 413, '413 for a 1 MB body', st)
    st, doc = req('GET', '/api/v1/calls/99')
    tap.ok(st == 404 and err(doc) == 'not_found', '404 for an unknown call', (st, doc))
    st, doc = req('GET', '/api/v1/calls/x1')
    tap.ok(st == 404, '404 for a call id that is no number', (st, doc))
    st, doc = req('GET', '/api/v1/calls', READ)
    tap.ok(st == 200 and doc == {'calls': []}, 'no call was made by any of them', (st, doc))
    tap.ok(len(dialouts()) == placed, 'and none reached Yate', dialouts()[placed:])

    # answered: the callee joins the room
    st, hd, body = eng.request('POST', '/api/v1/calls', ADMIN, json.dumps(
        {'number': '9001', 'room': 'main', 'name': 'Dana', 'caller_name': 'Board'}), JSON)
    answers.append(('/api/v1/calls', 'POST', st, hd, body))
    doc = json.loads(body)
    tap.ok(st == 202 and doc['state'] == 'dialing' and doc['number'] == '9001' and
           doc['room'] == 'main' and doc['timeout_s'] == 30 and doc['token'] == 'root',
           '202 at once: dialing, with the default timeout', (st, doc))
    ans_id = doc.get('id')
    tap.ok(hd.get('location') == '/api/v1/calls/%s' % ans_id, 'Location names the call', hd)
    tap.ok(isinstance(ans_id, int) and STARTED_US < ans_id < 2 ** 53,
           'its id counts from the engine\'s start time in microseconds (a restarted engine '
           'never gives out an id of the one before), below 2^53', (STARTED_US, ans_id))
    doc = final(ans_id, ('answered', 'failed', 'ended'))
    tap.ok(doc.get('state') == 'answered' and (doc.get('leg') or '').startswith('dumb/') and
           doc.get('answered'), 'then answered, with its leg', doc)
    leg = doc.get('leg')
    inroom = [l for l in legs('main') if l['id'] == leg]
    tap.ok(inroom and inroom[0]['caller'] == '9001',
           'the leg is in room main, its caller the number dialled', legs('main'))
    p = (dialouts() or [{}])[-1]
    tap.ok(p.get('target') == '9001' and p.get('ce_dialout') == 'main' and
           p.get('maxcall') == '30000' and p.get('callername') == 'Board' and
           p.get('participant_name') == 'Dana' and p.get('existing') == 'true',
           'Yate was asked to dial 9001 into main, ringing at most 30 s', p)
    tap.ok(eng.logged('token root: call %s to 9001 into room main' % ans_id),
           'the call is logged with the token\'s name', eng.stderr('call'))

    # failures, each with a reason a program can act on
    cases = [('9002', 'busy', 'busy'),
             ('5555', 'badnumber', 'noroute'),
             ('9004', 'unreachable', 'offline'),
             ('9006', 'rejected', 'rejected')]
    for number, reason, yate in cases:
        st, doc = call({'number': number, 'room': 'main'})
        cid = doc.get('id') if st == 202 else None
        doc = final(cid) if cid else doc
        tap.ok(doc.get('state') == 'failed' and doc.get('reason') == reason and
               (doc.get('detail') or '').startswith(yate),
               '%s: failed, reason %s (Yate: %s)' % (number, reason, yate), doc)

    # the limits: two dialing into main, a third refused; one into other, a fourth refused
    ring = []
    for room in ('main', 'main'):
        st, doc = call({'number': '9003', 'room': room, 'timeout_s': 5})
        ring.append(doc.get('id'))
        tap.ok(st == 202, 'a call ringing 9003 into %s' % room, (st, doc))
    before = dialouts_at_least(7)  # 9001, the four failures, the two ringing
    st, hd, body = eng.request('POST', '/api/v1/calls', ADMIN,
                               json.dumps({'number': '9001', 'room': 'main'}), JSON)
    answers.append(('/api/v1/calls', 'POST', st, hd, body))
    doc = json.loads(body)
    tap.ok(st == 503 and err(doc) == 'busy' and 'max_room_calls' in doc['error']['message'] and
           1 <= int(hd.get('retry-after', 0)) <= 5,
           'a third into main: 503 with Retry-After (max_room_calls)', (st, hd, doc))
    st, doc = call({'number': '9003', 'room': 'other', 'timeout_s': 5})
    ring.append(doc.get('id'))
    tap.ok(st == 202, 'one more into other (three dialing)', (st, doc))
    st, hd, body = eng.request('POST', '/api/v1/calls', ADMIN,
                               json.dumps({'number': '9001', 'room': 'other'}), JSON)
    answers.append(('/api/v1/calls', 'POST', st, hd, body))
    doc = json.loads(body)
    tap.ok(st == 503 and 'max_calls' in doc['error']['message'] and hd.get('retry-after'),
           'a fourth: 503 with Retry-After (max_calls)', (st, hd, doc))
    tap.ok(before == 7 and dialouts_at_least(8) == 8, 'the refused calls never reached Yate',
           dialouts()[7:])
    for cid in ring:
        doc = final(cid)
        tap.ok(doc.get('state') == 'failed' and doc.get('reason') == 'noanswer' and
               doc.get('detail') == 'noanswer',
               'call %s: nobody answered within timeout_s: failed, noanswer' % cid, doc)
    drops = eng.sim.events('maxcall')
    tap.ok(len(drops) == 3, 'each was dropped when its maxcall ran out, as Yate does', drops)
    st, doc = call({'number': '9007', 'room': 'other', 'role': 'listener'})
    tap.ok(st == 202, 'with nothing dialing, a call is placed again', (st, doc))
    doc = final(doc.get('id'), ('answered', 'failed', 'ended'))
    tap.ok(doc.get('state') == 'answered' and doc.get('role') == 'listener',
           'and answered, as a listener', doc)

    # the list, newest first
    st, doc = req('GET', '/api/v1/calls', READ)
    ids = [c['id'] for c in doc.get('calls', [])] if st == 200 else []
    tap.ok(st == 200 and len(ids) == 9 and ids == sorted(ids, reverse=True),
           'GET /api/v1/calls lists the nine calls, newest first', ids)

    # kicked: ended
    st, doc = req('POST', '/api/v1/rooms/main/legs/%s/kick' % leg.replace('/', '%2F'))
    tap.ok(st == 200, 'the answered callee is kicked', (st, doc))
    doc = final(ans_id)
    tap.ok(doc.get('state') == 'ended' and doc.get('ended'), 'its call is then ended', doc)

    # the events of room main: each change of its calls, in order
    got = events.until(lambda e: e['data'].get('type') == 'call' and
                       e['data'].get('id') == ans_id and e['data'].get('state') == 'ended')
    calls = [e['data'] for e in got if e['data'].get('type') == 'call']
    mine = [c['state'] for c in calls if c['id'] == ans_id]
    tap.ok(mine == ['dialing', 'answered', 'ended'],
           'the event stream tells dialing, answered, ended', mine)
    fails = {c['number']: c['reason'] for c in calls if c['state'] == 'failed'}
    tap.ok(fails == {'9002': 'busy', '5555': 'badnumber', '9004': 'unreachable',
                     '9006': 'rejected', '9003': 'noanswer'},
           'and each failure with its reason', fails)
    tap.ok(all(c['room'] == 'main' for c in calls) and got and
           all(isinstance(e.get('id'), int) for e in got),
           'only room main\'s calls, each with an event id', calls)
    httplib.answers_documented(tap, eng, answers, READ)
    events.close()
    events = None
    httplib.ends_well(tap, eng)

    # what the answered callee heard: the room (440 Hz), never itself (660 Hz)
    heard = eng.recordings('9001', '1001')
    ok, levels = simlib.who_hears(simlib.window(heard['9001'], 0.5, 2.5), [440], [660])
    tap.ok(ok, 'the callee hears the room (440 Hz), not itself (660 Hz)',
           (len(heard['9001']), levels))
    start = eng.sim.events('answered', who='9001')
    t0 = (eng.sim.events('answered', who='1001') or [{'t': 0}])[0]['t']
    at = start[0]['t'] - t0 if start else 0
    ok, levels = simlib.who_hears(simlib.window(heard['1001'], at + 0.5, at + 2), [660], [440])
    tap.ok(start and ok, 'the caller in the room hears the callee (660 Hz)',
           (at, len(heard['1001']), levels))
finally:
    if events:
        events.close()
    eng.close()
tap.done()
