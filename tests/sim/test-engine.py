#!/usr/bin/env python3
"""test-engine.py - conf-engine driven through yate-sim, as Yate would drive it (TAP).

Covers what the core does today: start-up (setlocal, installs below the
drivers, watchers), a caller routed to conf/ is taken with dumb/, RTP is
attached with complete_minimal and flows both ways, the call is answered,
DTMF reaches the engine, hangups are followed, and the engine leaves
cleanly when Yate closes its input, with no bad line and no timeout; a
tone played from a call's first frame is heard by the others.
Skipped when conf-engine is not built.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402

tap = simlib.Tap()
if not os.access(simlib.ENGINE[0], os.X_OK):
    tap.skip('conf-engine driven by the simulator', 'conf-engine is not built')
    tap.done()

r = simlib.run('''
route ^800$ conf/room1
at 0 call 1001 800 play=tone:440 record=1001.wav
at 0.5 call 1002 800 play=tone:1000
at 2 dtmf 1001 5
at 2.5 expect state 1001 answered
at 2.5 expect state 1002 answered
at 3 hangup 1002
at 3.5 hangup all
at 4 expect not event error-in
end 4.2
''', module=simlib.ENGINE)
tap.ok(r.ok, 'a conference call through the simulator runs cleanly', r.why())
tap.ok(not r.problems(), 'no crash, hang, timeout, garbage or flood',
       [p['text'] for p in r.problems()])

# start-up
inst = [l for l in r.lines('A') if l.startswith('%%>install:')]
prio = {l.split(':')[2]: int(l.split(':')[1]) for l in inst}
tap.ok(prio.get('call.execute', 999) < 90 and prio.get('chan.dtmf', 999) < 75,
       'call.execute and chan.dtmf are installed below the drivers and Yate\'s conference', prio)
tap.ok(all(l.endswith(':true') for l in r.lines('E')
           if l.startswith('%%<install:') or l.startswith('%%<watch:')),
       'every install and watch succeeds (one per name)')
tap.ok('%%<setlocal:engine.version:6.4.1:true' in r.lines('E') or
       not any(l.startswith('%%>setlocal:engine.version') for l in r.lines('A')),
       'engine.version asked and answered')

# joining
ex = r.messages('call.execute', handled=True, callto='dumb/')
tap.ok(len(ex) == 2 and all(e['params'].get('peerid', '').startswith('dumb/') for e in ex),
       'both callers are taken with callto=dumb/ and connected to dumb/N', ex)
rtp = r.messages('chan.rtp', handled=True, status='created')
tap.ok(len(rtp) == 2 and all(m['params'].get('complete_minimal') == 'true' and
                             m['params'].get('direction') == 'bidir' for m in rtp),
       'RTP attached to each dumb/N with complete_minimal=true', rtp)
tap.ok(len(r.events('answered')) == 2, 'both callers are answered')
st = {e['who']: e for e in r.events('rtp-stats')}
tap.ok(all(st.get(w, {}).get('rx', 0) > 20 for w in ('1001', '1002')),
       'the engine sends RTP to both legs', st)
tap.ok(all(st.get(w, {}).get('rx_bad', 1) == 0 and st.get(w, {}).get('rx_pt') == 0
           for w in ('1001', '1002')), 'its packets are well-formed PCMU', st)

# DTMF and hangups
d = r.messages('chan.dtmf', text='5')
tap.ok(d and d[0]['params'].get('peerid', '').startswith('dumb/'),
       'the caller\'s DTMF is dispatched with peerid=dumb/N', d)
tap.ok(r.messages('chan.hangup', id='sip/2'), 'the second caller\'s hangup is seen')
tap.ok(r.events('engine-exit', expected=True) and not r.events('engine-kill'),
       'the engine exits by itself when its input closes')
r.cleanup()

# Steady sound from the call's first frame: the talker detector takes it
# for noise (no talk), but it is clearly audible, so the room hears it.
# 1001 plays a tone from its first packet, 1002 quiet noise (-55 dBFS),
# 1003 comes later and plays nothing.  Mix-minus: 1001 hears neither
# itself nor the noise.
r = simlib.run('''
route ^800$ conf/steady notify=conf-monitor/steady
at 0 call 1001 800 play=tone:440
at 0 call 1002 800 play=noise@0.003
at 1 call 1003 800 play=silence
at 3.5 expect heard 1003 440 window=1500 min=0.9
at 3.5 expect heard 1002 440 window=1500 min=0.9
at 3.5 expect silent 1001 window=1500 max=-70
at 4 hangup all
end 4.5
''', module=simlib.ENGINE)
tap.ok(r.ok, 'a tone played from the start of a call is heard by the others, not by itself; '
       'quiet noise is not mixed', r.why())
joined = r.messages('chan.notify', event='joined')
talks = r.messages('chan.notify', event='talkstart')
tap.ok(len(joined) == 3 and not talks, 'the steady tone raises no talk (talk events ignore it)',
       (len(joined), talks))
r.cleanup()

tap.done()
