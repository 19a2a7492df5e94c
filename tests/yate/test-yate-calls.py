#!/usr/bin/env python3
"""test-yate-calls.py - outbound calls of the HTTP API through real Yate (TAP).

conf-engine runs under a real Yate 6.4.1 with [http] on; Ann (a wave/
caller recording what she hears, 440 Hz bursts) dials 800, which Yate's
regexroute sends to conf/main.  Then POST /api/v1/calls, each number
routed by Yate to a kind of target:
- 9001: Pat, a baresip phone that answers by itself (700 Hz bursts): the
  call is answered, its leg is in room main with Pat's number, Ann hears
  Pat and Pat hears Ann, not himself;
- 9004: Bob, a phone that rejects the call (486): failed, busy;
- 9005: Nora, a phone that rings and never answers, called with
  timeout_s=5: Yate ends the ringing (maxcall) and the call fails noanswer;
- 9006: a route that says error=offline: failed, unreachable;
- 9007: a number no route knows: failed, badnumber (Yate's dumb driver
  answers false with no error: "Outgoing call but no route!").
Pat is then kicked through the API, and his call is ended.  Every wait is
bounded; the steps follow what happened, never the clock.
"""
import atexit
import hashlib
import http.client
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import baresiplib  # noqa: E402
import yatelib  # noqa: E402

tap = yatelib.Checked()
prefix = yatelib.require(tap)
found = baresiplib.require(tap)
RATE = yatelib.RATE
LISTEN = 3.0  # seconds Ann and Pat record with both in the room
ADMIN = 'adm1n-yate-calls'
PORT = yatelib.free_port()
ENGINE_CONF = '''[http]
enabled=true
port=%d
token.root=admin:%s
[conference]
prompts_dir=%%s
''' % (PORT, hashlib.sha256(ADMIN.encode()).hexdigest())


def api(method, path, body=None):
    """(status, JSON answer or None) of one request with the admin token."""
    c = http.client.HTTPConnection('127.0.0.1', PORT, timeout=yatelib.WAIT)
    try:
        h = {'Authorization': 'Bearer ' + ADMIN}
        if body is not None:
            h['Content-Type'] = 'application/json'
            body = json.dumps(body)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        text = r.read()
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, None
    except OSError:
        return None, None
    finally:
        c.close()


def place(number, **extra):
    st, doc = api('POST', '/api/v1/calls', dict({'number': number, 'room': 'main'}, **extra))
    return doc.get('id') if st == 202 and doc else None


def state(cid, states, timeout=yatelib.WAIT):
    """The call once its state is one of @states (bounded), else as last seen."""
    last = {}

    def seen():
        nonlocal last
        st, doc = api('GET', '/api/v1/calls/%s' % cid)
        last = doc or {}
        return st == 200 and last.get('state') in states

    yatelib.wait_for(seen, timeout=timeout, step=0.2)
    return last


y = yatelib.Yate(prefix, 'calls', engine='--config {conf}')
atexit.register(shutil.rmtree, y.dir, True)  # a test that ends before Yate starts
with open(y.engine_conf, 'a') as f:
    f.write(ENGINE_CONF % y.path('no-prompts'))
os.mkdir(y.path('no-prompts'))  # what Ann and Pat hear is the room, not prompts

with baresiplib.Phones() as phones:
    phone = {key: phones.start(tap, y, key, found, play, answermode=mode)
             for key, play, mode in (('pat', yatelib.bursts(700, 300), 'auto'),
                                     ('bob', None, None), ('nora', None, None))}
    y.set_routes([r'^800$=conf/main',
                  r'^9001$=sip/' + phone['pat'].uri(),
                  r'^9004$=sip/' + phone['bob'].uri(),
                  r'^9005$=sip/' + phone['nora'].uri(),
                  r'^9006$=-;error=offline'])
    with y:
        tap.yate = y
        tap.must(y.wait_engine(), 'conf-engine attached to Yate', y.log_tail())
        d = y.driver()
        ann_play = y.path('ann-play.slin')
        yatelib.write_slin(ann_play, yatelib.bursts(440, 300))
        ann, ans = d.call('800', play=ann_play, record=y.path('ann.slin'), caller='1001')
        tap.must(bool(ann), 'Ann dials 800 and is in room main', (ans and ans.text, y.log_tail()))
        tap.must(yatelib.wait_for(lambda: api('GET', '/api/v1/rooms/main')[0] == 200),
                 'the API answers and has room main', api('GET', '/api/v1/rooms/main'))

        # ---- answered ------------------------------------------------------------------------
        pat = phone['pat']
        pat_id = place('9001')
        tap.ok(pat_id, 'POST 9001 into main: 202', pat_id)
        tap.ok(pat.wait_answered() is not None, "Pat's phone rings and answers by itself",
               pat.log_tail())
        doc = state(pat_id, ('answered', 'failed', 'ended'))
        tap.ok(doc.get('state') == 'answered' and (doc.get('leg') or '').startswith('dumb/'),
               'the call is answered, with its leg', doc)
        st, room = api('GET', '/api/v1/rooms/main')
        legs = [l for l in (room or {}).get('legs', []) if l['id'] == doc.get('leg')]
        tap.ok(legs and legs[0]['caller'] == '9001', "Pat's leg is in room main, caller 9001",
               room)
        ann_file = y.path('ann.slin')
        ann_from = os.path.getsize(ann_file) // 2 if os.path.exists(ann_file) else 0
        pat_from = pat.heard_seconds()
        tap.ok(yatelib.wait_for(
            lambda: (os.path.getsize(ann_file) // 2 >= ann_from + LISTEN * RATE and
                     pat.heard_seconds() >= pat_from + LISTEN),
            timeout=yatelib.WAIT + LISTEN, step=0.2),
            'Ann and Pat hear the room for %.0f s' % LISTEN)
        ann_heard = yatelib.read_slin(ann_file)[ann_from:ann_from + int(LISTEN * RATE)]
        pat_heard = pat.heard()[int(pat_from * RATE):int((pat_from + LISTEN) * RATE)]

        # ---- failures ------------------------------------------------------------------------
        bob, nora = phone['bob'], phone['nora']
        bob_id = place('9004')
        tap.ok(bob.wait_incoming() is not None and bob.reject(),
               "Bob's phone rings and he rejects the call (486)", bob.log_tail())
        nora_id = place('9005', timeout_s=5)
        tap.ok(nora.wait_incoming() is not None, "Nora's phone rings", nora.log_tail())
        off_id = place('9006')
        none_id = place('9007')
        for cid, reason, yate, what in ((bob_id, 'busy', 'busy', 'Bob rejected (486)'),
                                        (nora_id, 'noanswer', 'noanswer',
                                         'Nora did not answer within 5 s'),
                                        (off_id, 'unreachable', 'offline', '9006 is offline'),
                                        (none_id, 'badnumber', 'noroute', '9007 has no route')):
            doc = state(cid, ('failed', 'answered', 'ended'), timeout=yatelib.WAIT + 5)
            tap.ok(doc.get('state') == 'failed' and doc.get('reason') == reason and
                   (doc.get('detail') or '').startswith(yate),
                   '%s: failed, %s (Yate: %s)' % (what, reason, yate), doc)
        tap.ok(nora.closed() is not None or nora.wait_event('CALL_CLOSED') is not None,
               "Nora's phone stopped ringing: Yate cancelled the call", nora.log_tail())

        # ---- ended ---------------------------------------------------------------------------
        leg = (state(pat_id, ('answered',)).get('leg') or '').replace('/', '%2F')
        st, _ = api('POST', '/api/v1/rooms/main/legs/%s/kick' % leg)
        tap.ok(st == 200 and pat.wait_event('CALL_CLOSED') is not None,
               "Pat is kicked through the API: his phone hangs up", (st, pat.log_tail()))
        doc = state(pat_id, ('ended',))
        tap.ok(doc.get('state') == 'ended', 'and his call is ended', doc)

    hears = yatelib.simlib.who_hears
    ok, levels = hears(ann_heard, [700], [440], floor=-30)
    tap.ok(ok, 'Ann hears Pat (700 Hz), not herself (440 Hz)', (len(ann_heard), levels))
    ok, levels = hears(pat_heard, [440], [700], floor=-30)
    tap.ok(ok, 'Pat hears Ann (440 Hz), not himself (700 Hz)', (len(pat_heard), levels))
tap.done()
