#!/usr/bin/env python3
"""test-http-actions.py - POST /api/v1/rooms/NAME/... actions over real HTTP (TAP).

The engine runs under yate-sim with [http] (a read and an admin token);
three callers join room 'main'.  Shown, each answer checked against the
OpenAPI document:
- mute, unmute, deaf, undeaf of a leg (by dumb/N, %2F-encoded, or by its
  number): 200 with the room's new state, and GET /api/v1/rooms/main shows
  it; kick: the caller is gone (the simulator sees its call end);
- lock and unlock: the room's locked flag; record/start with a file then
  record/stop: the recording shows, and a WAV file is written; record/stop
  again: 409; record/start twice: 409;
- a read token: 403 and nothing changes; an unknown room or leg: 404; GET
  on an action: 405 with Allow: POST;
- malformed JSON, a wrong type, an unknown member, a 1 MB body: 4xx and
  nothing happens;
- each action is logged at NOTE with the token's name;
- end: every caller is dropped and the room is gone.
"""
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httplib  # noqa: E402

tap = httplib.engine_tap()

READ, ADMIN = httplib.READ, httplib.ADMIN
RECDIR = tempfile.mkdtemp(prefix='ce-http-rec-')
eng = httplib.Engine('''
route ^800$ conf/main notify=conf-monitor/main
at 0 call 1001 800 play=tone:440
at 0.3 call 1002 800 play=silence
at 0.6 call 1003 800 play=silence
end 300
''', httplib.http_conf('timeout=3'), extra='[conference]\nrecord_dir=' + RECDIR)
answers = []
JSON = {'Content-Type': 'application/json'}


def req(method, path, token=ADMIN, body=None, **kw):
    return eng.json_request(answers, method, path, token, body=body, **kw)


def room():
    st, hd, b = eng.get('/api/v1/rooms/main', READ)
    return json.loads(b) if st == 200 else None


def leg(caller):
    r = room()
    found = [l for l in r['legs'] if l['caller'] == caller] if r else []
    return found[0] if found else None


def err(doc):
    return (doc or {}).get('error', {}).get('code')


try:
    tap.ok(eng.port, 'the engine logs the port it listens on', eng.stderr('HTTP'))
    if not eng.port:
        tap.done()
    eng.wait(lambda s, d: s == 200 and d and d.get('participants') == 3, '/api/v1/rooms/main',
             READ)
    l2 = leg('1002')
    by_id = '/api/v1/rooms/main/legs/%s/' % l2['id'].replace('/', '%2F')
    by_seq = '/api/v1/rooms/main/legs/%d/' % l2['seq']

    # a read token may not act
    st, doc = req('POST', by_id + 'mute', READ)
    tap.ok(st == 403 and err(doc) == 'forbidden' and not leg('1002')['muted'],
           'a read token: 403, and the leg is not muted', (st, doc))

    # leg actions, by channel and by number
    st, doc = req('POST', by_id + 'mute')
    mine = [l for l in (doc or {}).get('legs', []) if l['caller'] == '1002']
    tap.ok(st == 200 and mine and mine[0]['muted'], 'mute: 200 with the leg muted', (st, doc))
    tap.ok(leg('1002')['muted'], 'GET /api/v1/rooms/main shows it muted')
    tap.ok(any("token 'root'" in t and 'mute' in t and 'NOTE' in t
               for t in eng.logged("HTTP token", lambda t: 'mute' in t)),
           'logged at NOTE with the token\'s name', eng.stderr('HTTP token'))
    st, doc = req('POST', by_seq + 'unmute')
    tap.ok(st == 200 and not leg('1002')['muted'], 'unmute by the leg\'s number', st)
    st, doc = req('POST', by_id + 'deaf')
    tap.ok(st == 200 and leg('1002')['deaf'], 'deaf', st)
    st, doc = req('POST', by_id + 'undeaf')
    tap.ok(st == 200 and not leg('1002')['deaf'], 'undeaf', st)

    # room actions
    st, doc = req('POST', '/api/v1/rooms/main/lock')
    tap.ok(st == 200 and doc['locked'] and room()['locked'], 'lock: the room is locked', doc)
    st, doc = req('POST', '/api/v1/rooms/main/unlock')
    tap.ok(st == 200 and not room()['locked'], 'unlock', doc)
    st, doc = req('POST', '/api/v1/rooms/main/record/stop')
    tap.ok(st == 409 and err(doc) == 'conflict', 'record/stop when not recording: 409', doc)
    st, doc = req('POST', '/api/v1/rooms/main/record/start',
                  body=json.dumps({'file': os.path.join(eng.work, 'out.wav')}), headers=JSON)
    tap.ok(st == 400 and err(doc) == 'bad_file' and room()['recording'] is None,
           'record/start to a file outside record_dir: 400, nothing recorded', (st, doc))
    wav = os.path.join(RECDIR, 'rec.wav')
    st, doc = req('POST', '/api/v1/rooms/main/record/start', body=b'{"file": "rec.wav"}',
                  headers=JSON)
    tap.ok(st == 200 and doc['recording'] and room()['recording'],
           'record/start with a file: the room records', doc)
    st, doc = req('POST', '/api/v1/rooms/main/record/start', body=b'', headers=JSON)
    tap.ok(st == 409, 'record/start while recording: 409', (st, doc))
    time.sleep(1)
    st, doc = req('POST', '/api/v1/rooms/main/record/stop')
    tap.ok(st == 200 and doc['recording'] is None, 'record/stop: no longer recording', doc)
    end = time.monotonic() + httplib.WAIT
    while not (os.path.exists(wav) and os.path.getsize(wav) > 8000) and time.monotonic() < end:
        time.sleep(0.1)
    tap.ok(os.path.exists(wav) and os.path.getsize(wav) > 8000, 'the recording was written',
           os.path.exists(wav) and os.path.getsize(wav))

    # refusals: nothing happens
    cases = [
        ('/api/v1/rooms/nosuch/lock', None, 404, 'not_found'),
        ('/api/v1/rooms/main/legs/dumb%2F999/mute', None, 404, 'not_found'),
        ('/api/v1/rooms/main/legs/77/kick', None, 404, 'not_found'),
        (by_id + 'mute', b'{"reason": ', 400, 'bad_json'),
        (by_id + 'mute', b'[1, 2]', 400, 'bad_request'),
        (by_id + 'mute', b'{"muted": true}', 400, 'bad_request'),
        (by_id + 'kick', b'{"reason": 5}', 400, 'bad_request'),
        ('/api/v1/rooms/main/record/start', b'{"file": ["x"]}', 400, 'bad_request'),
        ('/api/v1/rooms/main/record/start', b'{"file": ""}', 400, 'bad_request'),
        ('/api/v1/rooms/main/lock', b'x' * (1 << 20), 413, 'body_too_large'),
    ]
    for path, body, want, code in cases:
        st, doc = req('POST', path, body=body, headers=JSON)
        tap.ok(st == want and err(doc) == code, '%s %s: %d %s' % (
            path, (body or b'')[:20], want, code), (st, doc))
    r = room()
    tap.ok(r['participants'] == 3 and not r['locked'] and r['recording'] is None and
           not any(l['muted'] for l in r['legs']), 'and nothing happened', r)
    st, doc = req('GET', '/api/v1/rooms/main/lock')
    tap.ok(st == 405, 'GET on an action: 405', (st, doc))
    tap.ok(answers[-1][3].get('allow') == 'POST', 'with Allow: POST', answers[-1][3])

    # kick: the caller is gone
    st, doc = req('POST', by_id + 'kick', body=b'{"reason": "bye"}', headers=JSON)
    tap.ok(st == 200 and not any(l['caller'] == '1002' for l in doc.get('legs', [])),
           'kick: 200, the leg is no longer in the room', (st, doc))
    hung = eng.sim.wait('hungup', who='1002')
    tap.ok(hung and hung.get('reason') == 'bye', 'the caller\'s phone is hung up, reason bye',
           hung)
    st, r = eng.wait(lambda s, d: s == 200 and d['participants'] == 2, '/api/v1/rooms/main',
                     READ)
    tap.ok(r['participants'] == 2 and not any(l['caller'] == '1002' for l in r['legs']),
           'the caller is gone from the room', r)

    # end
    st, doc = req('POST', '/api/v1/rooms/main/end')
    tap.ok(st == 200 and doc == {'name': 'main', 'ended': True}, 'end: 200 ended', doc)
    st, r = eng.wait(lambda s, d: s == 404, '/api/v1/rooms/main', READ)
    tap.ok(st == 404, 'the room is gone', (st, r))
    tap.ok(any("token 'root'" in t and 'end' in t
               for t in eng.logged('HTTP token', lambda t: 'end' in t)),
           'the end is logged with the token\'s name')

    httplib.answers_documented(tap, eng, answers, READ)
    httplib.ends_well(tap, eng)
finally:
    eng.close()
    shutil.rmtree(RECDIR, ignore_errors=True)
tap.done()
