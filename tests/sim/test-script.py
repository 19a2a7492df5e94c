#!/usr/bin/env python3
"""test-script.py - another module moves a call into conf-engine's room, as Yate's scripts do (TAP).

yate-sim hosts two external modules at once, as Yate does: conf-engine,
started by the simulator, and a "script" played here over a --listen
socket.  The script follows the classic Yate conference scripts: when a
call it watches is up, it sends

    chan.masquerade id=sip/N message=call.execute callto=conf/cs-42 notify=conf-monitor/cs-42

Yate hands the channel to the masqueraded call.execute; conf-engine takes it
with dumb/, so the caller leaves its old peer and joins the room.  Checked:
the script's answer (handled, room=conf/cs-42), who hears whom once the
caller is in (each plays its own tone: everyone hears the two others, not
itself; simlib.who_hears), the old peer hanging up, and chan.notify joined for conf-monitor/cs-42 reaching
the script's watcher.  Every wait is bounded.
"""
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402

tap = simlib.Tap()
if not os.access(simlib.ENGINE[0], os.X_OK):
    tap.skip('a script module masquerades a caller into a conf-engine room',
             'conf-engine is not built')
    tap.done()

ROOM, MONITOR = 'conf/cs-42', 'conf-monitor/cs-42'

# 1002 and 1003 talk in the room; 1001 is in a call with 801 (phone to
# phone: no RTP, 1001 hears nothing) until the script moves 1001 into the
# room.  The script waits 1.5 s after it saw 1001 answered (at 1 s or later),
# so the move comes after the check at 2.2 s whatever the load; a late move
# only shortens the window the audio checks look at (the last 2.5 s before
# the hangup at 7.5 s, its last 0.3 s left out).
SCENARIO = '''
route ^800$ %s notify=%s
route ^801$ sip/801
callee 801 answer
at 0.5 call 1002 800 play=tone:1000 record=1002.wav
at 0.5 call 1003 800 play=tone:1600 record=1003.wav
at 1 call 1001 801 play=tone:440 record=1001.wav
at 2.2 expect state 1001 answered
at 2.2 expect not message chan.notify event=joined users=3
at 7 expect state 801 hungup
at 7.5 hangup all
end 8
''' % (ROOM, MONITOR)
TONES = {'1001': 440, '1002': 1000, '1003': 1600}  # 500 Hz and more apart

sock = os.path.join(tempfile.mkdtemp(prefix='yate-sim-script-'), 'ext.sock')
holder = {}


def run_sim():
    holder['r'] = simlib.run(SCENARIO, module=simlib.ENGINE,
                             args=['--listen', 'unix:' + sock], timeout=90)


t = threading.Thread(target=run_sim)
t.start()
script = simlib.Module(sock)
for name in ('call.execute', 'call.answered', 'chan.notify'):
    script.send('%%>watch:' + name)

# The caller's channel: the call.execute report for 801.
state = {'chan': None, 'answered': None, 'masq': None, 'answer': None}
deadline = time.time() + 30
while time.time() < deadline and not state['answer']:
    line = script.read(0.2)
    if line is None:
        if state['answered'] and not state['masq'] and time.time() > state['answered'] + 1.5:
            state['masq'] = script.message('chan.masquerade', [
                ('id', state['chan']), ('message', 'call.execute'), ('callto', ROOM),
                ('notify', MONITOR)])
        continue
    if line.kind == '>message':
        script.answer(line, False)
    elif line.kind == '<message' and not line.id and line.name == 'call.execute' and \
            line.get('called') == '801' and line.handled:
        state['chan'] = line.get('id')
    elif line.kind == '<message' and not line.id and line.name == 'call.answered' and \
            state['chan'] and line.get('peerid') == state['chan']:
        state['answered'] = time.time()
    elif line.kind == '<message' and line.id and line.id == state['masq']:
        state['answer'] = line
# Keep watching until the simulator closes the socket (the scenario's end).
while script.read(10) is not None:
    pass
script.close()
t.join(100)
r = holder.get('r')

tap.ok(state['chan'] and state['chan'].startswith('sip/'), 'the script saw the call to 801 up',
       state)
a = state['answer']
tap.ok(a is not None and a.name == 'call.execute' and a.handled and
       a.get('room') == ROOM and a.get('peerid', '').startswith('dumb/'),
       'the masquerade is answered as a handled call.execute with room=%s, peerid=dumb/N' % ROOM,
       a)
tap.ok(r and r.ok, 'the caller leaves 801 for the room; 801 hangs up', r and r.why())
for who, own in TONES.items():
    heard = r.wav(who + '.wav') if r and os.path.exists(r.path(who + '.wav')) else []
    others = [f for w, f in TONES.items() if w != who]
    ok, levels = simlib.who_hears(heard[-int(2.8 * 8000):-int(0.3 * 8000)], others, [own])
    tap.ok(ok, '%s hears the two others in the room (%d and %d Hz), not itself (%d Hz)' %
           ((who,) + tuple(others) + (own,)), levels)
joined = [l for l in script.seen if l.kind == '<message' and not l.id and
          l.name == 'chan.notify' and l.get('event') == 'joined' and
          l.get('targetid') == MONITOR and a is not None and l.get('id') == a.get('peerid')]
tap.ok(joined and joined[0].get('users') == '3',
       'chan.notify joined for %s reaches the script, users=3' % MONITOR,
       [l.text for l in script.seen if l.name == 'chan.notify'][:8])
rtp = r and r.messages('chan.rtp', handled=True, status='created')
tap.ok(rtp and len(rtp) == 3, 'three RTP legs: the two callers of 800 and the moved caller', rtp)
tap.ok(r and not r.problems(), 'two modules, no problem (timeouts, bad lines)',
       r and r.problems())
if r:
    r.cleanup()
tap.done()
