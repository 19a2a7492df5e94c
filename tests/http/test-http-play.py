#!/usr/bin/env python3
"""test-http-play.py - POST /api/v1/rooms/NAME/play and .../legs/ID/play over real HTTP (TAP).

The engine runs under yate-sim with [http] (a read and an admin token) and
the source tree's prompts (conf/prompts); callers 1001, 1002 (who record
what they hear, and send silence) and 1003 join room 'main'.  Shown, each
answer checked against the OpenAPI document, and IN THE AUDIO (the
prompts told apart by their content, simlib.find_prompt):
- a prompt played to the room: both callers hear it; to one leg: that
  caller hears it, the other does not; to the others of a leg: the reverse;
- play/stop of the room: a prompt queued behind the one playing is never
  heard; play/stop of a leg likewise for that leg's queue; queue=false
  replaces what plays and waits: the waiting one is never heard, the new
  one is;
- a tone with a duration: 200;
- refusals, nothing played: no file, a file that is not there (404), one
  outside the play roots or with '..' (403), a directory (400), an unknown
  tone, a duration for a file, a duration out of range or of the wrong type,
  queue or others not booleans, others on the room, an unknown room or leg
  (404), a read token (403), a full prompt queue (409 queue_full, then
  play/stop empties it);
- each play is logged at NOTE with the token's name.
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
PROMPTS = os.path.realpath(os.path.join(httplib.SRCDIR, 'conf', 'prompts'))
eng = httplib.Engine('''
route ^800$ conf/main notify=conf-monitor/main
at 0 call 1001 800 play=silence record=1001.wav
at 0.3 call 1002 800 play=silence record=1002.wav
at 0.6 call 1003 800 play=silence
end 300
''', httplib.http_conf('timeout=3'),
    extra='[conference]\nprompts_dir=%s\n' % PROMPTS)
answers = []
JSON = {'Content-Type': 'application/json'}


def req(path, body=None, token=ADMIN, method='POST'):
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    return eng.json_request(answers, method, path, token, body=data, headers=JSON)


def room():
    st, hd, b = eng.get('/api/v1/rooms/main', READ)
    return json.loads(b) if st == 200 else None


def leg_path(caller):
    found = [l for l in room()['legs'] if l['caller'] == caller]
    return '/api/v1/rooms/main/legs/%s/' % found[0]['id'].replace('/', '%2F')


def err(doc):
    return (doc or {}).get('error', {}).get('code')


def played(name):
    """Let the prompt @name play out before the next, so that no two overlap in what a
    caller hears (a pause, not a check: the audio says what was heard)."""
    time.sleep(len(simlib.prompt_samples(name)) / 8000.0 + 0.5)


try:
    tap.ok(eng.port, 'the engine logs the port it listens on', eng.stderr('HTTP'))
    if not eng.port:
        tap.done()
    eng.wait(lambda s, d: s == 200 and d and d.get('participants') == 3, '/api/v1/rooms/main',
             READ)
    l1, l2, l3 = leg_path('1001'), leg_path('1002'), leg_path('1003')
    ROOM = '/api/v1/rooms/main/'

    # a read token may not play
    st, doc = req(ROOM + 'play', {'file': 'ended.wav'}, READ)
    tap.ok(st == 403 and err(doc) == 'forbidden', 'a read token: 403', (st, doc))

    # to the room, to one leg, to all but one: each waits for the one before to end
    st, doc = req(ROOM + 'play', {'file': 'ended.wav'})
    tap.ok(st == 200 and doc.get('name') == 'main' and len(doc.get('legs', [])) == 3,
           'play to the room: 200 with the room', (st, doc))
    tap.ok(any("token 'root'" in t and 'play ended.wav' in t and 'NOTE' in t
               for t in eng.logged('HTTP token', lambda t: 'play ended.wav' in t)),
           'logged at NOTE with the token\'s name', eng.stderr('HTTP token'))
    played('ended')
    st, doc = req(l2 + 'play', {'file': 'to-end.wav'})
    tap.ok(st == 200, 'play to leg 1002: 200', (st, doc))
    played('to-end')
    st, doc = req(l2 + 'play', {'file': 'removed.wav', 'others': True, 'queue': True})
    tap.ok(st == 200, 'play to everyone but 1002: 200', (st, doc))
    played('removed')
    st, doc = req(ROOM + 'play', {'file': 'tone/milliwatt', 'duration': 300})
    tap.ok(st == 200, 'a tone with a duration: 200', (st, doc))

    # stop: what waits behind the playing prompt is never heard
    st, doc = req(ROOM + 'play', {'file': 'say-name.wav'})
    st2, doc2 = req(ROOM + 'play', {'file': 'locked-out.wav'})
    st3, doc3 = req(ROOM + 'play/stop')
    tap.ok(st == 200 and st2 == 200 and st3 == 200 and doc3.get('name') == 'main',
           'play, play queued, play/stop of the room: 200 each', (st, st2, st3, doc3))
    st, doc = req(l1 + 'play', {'file': 'wait-moderator.wav'})
    st2, doc2 = req(l1 + 'play', {'file': 'lonely.wav'})
    st3, doc3 = req(l1 + 'play/stop')
    tap.ok(st == 200 and st2 == 200 and st3 == 200,
           'play, play queued, play/stop of leg 1001: 200 each', (st, st2, st3, doc3))
    st, doc = req(ROOM + 'play', {'file': 'enter-pin.wav'})
    st2, doc2 = req(ROOM + 'play', {'file': 'enter-number.wav'})
    st3, doc3 = req(ROOM + 'play', {'file': 'extended.wav', 'queue': False})
    tap.ok(st == 200 and st2 == 200 and st3 == 200,
           'play, play queued, play with queue=false: 200 each', (st, st2, st3, doc3))

    # refusals: nothing is played
    outside = os.path.join(eng.work, 'conf-engine.conf')
    cases = [
        (ROOM + 'play', b'', 400, 'bad_request', 'no body: the file is missing'),
        (ROOM + 'play', {'queue': True}, 400, 'bad_request', 'no file'),
        (ROOM + 'play', {'file': 'nosuch.wav'}, 404, 'file_not_found', 'a file not there'),
        (ROOM + 'play', {'file': outside}, 403, 'forbidden_file', 'outside the play roots'),
        (ROOM + 'play', {'file': '../en/ended.wav'}, 403, 'forbidden_file', '".." in it'),
        (ROOM + 'play', {'file': os.path.join(PROMPTS, 'en')}, 400, 'bad_file',
         'a directory'),
        (ROOM + 'play', {'file': 'tone/nosuch'}, 400, 'bad_request', 'an unknown tone'),
        (ROOM + 'play', {'file': 'ended.wav', 'duration': 500}, 400, 'bad_request',
         'a duration for a file'),
        (ROOM + 'play', {'file': 'tone/busy', 'duration': 0}, 400, 'bad_request',
         'a duration of 0'),
        (ROOM + 'play', {'file': 'tone/busy', 'duration': 3600001}, 400, 'bad_request',
         'a duration over an hour'),
        (ROOM + 'play', {'file': 'tone/busy', 'duration': '500'}, 400, 'bad_request',
         'a duration as a string'),
        (ROOM + 'play', {'file': 'tone/busy', 'duration': 1.5}, 400, 'bad_request',
         'a duration not whole'),
        (ROOM + 'play', {'file': 'ended.wav', 'queue': 'no'}, 400, 'bad_request',
         'queue not a boolean'),
        (ROOM + 'play', {'file': 5}, 400, 'bad_request', 'a file not a string'),
        (ROOM + 'play', {'file': 'ended.wav', 'others': True}, 400, 'bad_request',
         'others on the room'),
        (l2 + 'play', {'file': 'ended.wav', 'others': 1}, 400, 'bad_request',
         'others not a boolean'),
        (ROOM + 'play', b'{"file": ', 400, 'bad_json', 'malformed JSON'),
        (ROOM + 'play/stop', {'others': True}, 400, 'bad_request', 'others on the room\'s stop'),
        ('/api/v1/rooms/nosuch/play', {'file': 'ended.wav'}, 404, 'not_found', 'no such room'),
        ('/api/v1/rooms/nosuch/play/stop', None, 404, 'not_found', 'stop: no such room'),
        ('/api/v1/rooms/main/legs/dumb%2F999/play', {'file': 'ended.wav'}, 404, 'not_found',
         'no such leg'),
        ('/api/v1/rooms/main/legs/77/play/stop', None, 404, 'not_found', 'stop: no such leg'),
    ]
    for path, body, want, code, what in cases:
        st, doc = req(path, body)
        tap.ok(st == want and err(doc) == code, '%s: %d %s' % (what, want, code), (st, doc))
    st, doc = req(ROOM + 'play', method='GET')
    tap.ok(st == 405 and answers[-1][3].get('allow') == 'POST', 'GET on play: 405, Allow: POST',
           (st, doc))
    tap.ok(any('nosuch.wav' in t and "token 'root'" in t
               for t in eng.logged('cannot play', lambda t: 'nosuch.wav' in t)),
           'a file not there is logged with the token\'s name', eng.stderr('cannot play'))

    # a full queue: 409, and play/stop empties it (1003's own queue; nobody records it)
    got = [req(l3 + 'play', {'file': 'tone/busy', 'duration': 60000})[0] for _ in range(16)]
    st, doc = req(l3 + 'play', {'file': 'tone/busy', 'duration': 60000})
    tap.ok(got == [200] * 16 and st == 409 and err(doc) == 'queue_full',
           'sixteen prompts queued for a leg, the seventeenth: 409 queue_full', (got, st, doc))
    st, doc = req(l3 + 'play/stop')
    st2, doc2 = req(l3 + 'play', {'file': 'tone/busy', 'duration': 100})
    tap.ok(st == 200 and st2 == 200, 'play/stop of the leg, then it plays again', (st, st2))

    # the prompts play on, 15 s in all (the longest 5 s); anything queued wrongly would
    # be heard by then
    time.sleep(12)
    httplib.answers_documented(tap, eng, answers, READ)
    httplib.ends_well(tap, eng)

    heard = eng.recordings('1001', '1002')

    def found(who, name):
        return round(simlib.find_prompt(heard[who], simlib.prompt_samples(name))[0], 2)

    def check(name, present, absent, what):
        got = {who: found(who, name) for who in present + absent}
        print('# %s: correlation with what each heard %s' % (name, got))
        tap.ok(all(got[w] > 0.8 for w in present) and all(got[w] < 0.6 for w in absent),
               what, got)

    check('ended', ['1001', '1002'], [], 'the room\'s prompt is heard by both callers')
    check('to-end', ['1002'], ['1001'], 'the prompt to 1002 is heard by 1002, not by 1001')
    check('removed', ['1001'], ['1002'], 'the prompt to all but 1002: 1001 hears it, 1002 not')
    check('locked-out', [], ['1001', '1002'],
          'play/stop of the room: the prompt queued behind is never heard')
    check('lonely', [], ['1001'], 'play/stop of leg 1001: its queued prompt is never heard')
    check('enter-number', [], ['1001', '1002'],
          'queue=false: the prompt that waited is never heard')
    check('extended', ['1001', '1002'], [], 'and the new one is heard by both')
finally:
    eng.close()
tap.done()
