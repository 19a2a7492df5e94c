#!/usr/bin/env python3
"""test-join-sim.py - conf/ rooms end to end: the real conf-engine under the router simulator.

Prints TAP.  Each scenario starts yate-sim, which launches the engine as
Yate would and plays Yate's part (dumb channels, chan.masquerade, chan.rtp
with real UDP, callers that send audio and record what they hear).
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ.get('CE_SRCDIR') or
                                os.path.dirname(os.path.dirname(os.path.dirname(
                                    os.path.dirname(os.path.abspath(__file__))))),
                                'tests', 'sim'))
import simlib  # noqa: E402

tap = simlib.engine_tap('conference end to end')

SPEECH = simlib.data('speech.wav')


def params(r, name, **kw):
    return [m['params'] for m in r.messages(name, **kw)]


def hears(r, who, present, absent):
    """TAP check that @who heard every tone of @present and none of @absent (mix-minus).

    The window is 1.5-3.5 s into its recording: everyone is in by then.
    """
    samples = r.wav(who + '.wav') if os.path.exists(r.path(who + '.wav')) else []
    ok, levels = simlib.who_hears(simlib.window(samples, 1.5, 3.5), present, absent)
    tap.ok(ok, '%s hears %s Hz, not %s Hz' % (who, '+'.join(map(str, present)),
                                              '+'.join(map(str, absent))), levels)


# 1. Two callers talk in one room: transcript 1's join, audio both ways, notifications.
#    Each plays its own tone; each hears the other's and not its own.
r = simlib.run('''
route ^800$ conf/room1 notify=conf-monitor/room1 lonely=true
at 0 call 1001 800 play=tone:440 record=1001.wav
at 0.5 call 1002 800 play=tone:1000 record=1002.wav
at 4 expect state 1001 answered
at 4 expect state 1002 answered
at 4.5 hangup 1001
at 5.5 hangup 1002
end 6.5
''', module=simlib.ENGINE)
tap.ok(r.ok, 'two callers in one room', r.why())
hears(r, '1001', [1000], [440])
hears(r, '1002', [440], [1000])
ex = r.messages('call.execute', callto='dumb/', ce_room='room1', handled=True)
tap.ok(len(ex) == 2 and all(m['params'].get('peerid', '').startswith('dumb/') for m in ex),
       'call.execute answered with callto=dumb/ and the ce_room marker', ex)
rtp = params(r, 'chan.rtp', status='created')
tap.ok(len(rtp) == 2 and all(p.get('complete_minimal') == 'true' and
                             p.get('direction') == 'bidir' for p in rtp),
       'chan.rtp masqueraded with complete_minimal=true, direction=bidir', rtp)
tap.ok(len(r.messages('call.answered')) >= 2, 'both legs answered')
ev = [p.get('event') for p in params(r, 'chan.notify', targetid='conf-monitor/room1')]
want = ['created', 'joined', 'joined', 'left', 'left', 'destroyed']
tap.ok([e for e in ev if e in want] == want, 'created, joined x2, left x2, destroyed', ev)
left = params(r, 'chan.notify', event='left')
tap.ok(len(left) == 2 and left[0].get('lonely') == 'true' and left[1].get('lonely') == 'false'
       and left[0].get('lastpeerid', '').startswith('sip/'),
       'left carries lonely= and lastpeerid=<caller>', left)
tap.ok(not r.problems(), 'no protocol problems', r.problems())
r.cleanup()

# 2. maxusers: the second caller is refused with error=busy (486 to a phone), and Yate's own
#    conference module (the simulator's stand-in at 90) does not take the call.
r = simlib.run('''
route ^800$ conf/small maxusers=1
at 0 call 1001 800 play=tone:440
at 1 call 1002 800 play=tone:440
at 2.5 expect event rejected who=1002 error=busy
at 2.5 expect state 1001 answered
at 3 hangup all
end 4
''', module=simlib.ENGINE)
tap.ok(r.ok, 'second caller rejected, first still in', r.why())
rej = [m for m in r.messages('call.execute', handled=False)
       if m['params'].get('error') == 'busy']
tap.ok(rej and rej[0]['params'].get('callto') == '-',
       'refusal: call.execute false with error=busy, callto=-', rej)
tap.ok(not r.messages('chan.notify', event='joined', id='conf/1'),
       "Yate's conference module never took the call")
r.cleanup()

# 3. existing=true with no room, then a controller drops a leg with call.drop.
r = simlib.run('''
route ^801$ conf/none existing=true
route ^800$ conf/room2 lonely=true
at 0 call 1003 801
at 0.5 call 1001 800 play=tone:440
at 1 call 1002 800 play=tone:440
at 2.5 message call.drop id=dumb/1 reason=kicked
at 3.5 expect event rejected who=1003 error=noroute
at 3.5 expect state 1001 hungup
at 3.5 expect state 1002 answered
at 4 hangup all
end 5
''', module=simlib.ENGINE)
tap.ok(r.ok, 'existing=true refused; call.drop of one leg leaves the other in', r.why())
nr = [m for m in r.messages('call.execute', handled=False)
      if m['params'].get('error') == 'noroute']
tap.ok(nr, 'existing=true and no room: error=noroute', nr)
r.cleanup()

# 4. A lonely caller is dropped when the other leaves (lonely defaults to false).
r = simlib.run('''
route ^800$ conf/room3
at 0 call 1001 800 play=tone:440
at 0.5 call 1002 800 play=tone:440
at 2 hangup 1001
at 3 expect state 1002 hungup
end 4
''', module=simlib.ENGINE)
tap.ok(r.ok, 'lonely=false: the caller left alone is dropped', r.why())
tap.ok(r.messages('call.drop', reason='hangup'), 'call.drop reason=hangup for the lonely leg')
r.cleanup()

# 5. The classic scripts: chan.masquerade message=call.execute callto=conf/... on
#    calls that are up elsewhere (here: with a phone at 801).
r = simlib.run('''
route ^801$ sip/801
callee 801 answer play=tone:440
at 0 call 1001 801 play=tone:1000 record=1001.wav
at 0 call 1002 801 play=tone:1600 record=1002.wav
at 1 message chan.masquerade id=sip/1 message=call.execute callto=conf/cs-42 notify=conf-monitor/cs-42 lonely=true
at 1 message chan.masquerade id=sip/2 message=call.execute callto=conf/cs-42 notify=conf-monitor/cs-42
at 4 expect message chan.notify event=joined users=2 targetid=conf-monitor/cs-42
at 4.5 hangup all
end 5.5
''', module=simlib.ENGINE)
tap.ok(r.ok, 'masquerade-originated call.execute joins calls that were up', r.why())
# in the room, each hears the other, not itself, and no longer 801's 440 Hz (tones 500 Hz and
# more apart: a 20 ms frame's filter leaks a tone a few bins away above the margin)
hears(r, '1001', [1600], [1000, 440])
hears(r, '1002', [1000], [1600, 440])
ex = r.messages('call.execute', handled=True, ce_room='cs-42')
tap.ok(len(ex) == 2 and all(m['params'].get('room') == 'conf/cs-42' for m in ex),
       'the script gets room=conf/cs-42 back', ex)
r.cleanup()

# 6. Controls and DTMF: chan.control (direct and masqueraded) on a leg, DTMF events.
r = simlib.run('''
route ^800$ conf/room6 notify=mon/room6 lonely=true
at 0 call 1001 800 play=%s
at 0.5 call 1002 800 play=%s
at 1.5 dtmf 1001 5
at 2 message chan.control targetid=dumb/1 operation=mute
at 2.5 message chan.masquerade id=dumb/2 message=chan.control operation=deaf
at 3 message chan.control targetid=conf/room6 operation=lock
at 3.2 call 1003 800
at 4 expect message chan.notify event=dtmf id=dumb/1 text=5 targetid=mon/room6
at 4 expect message chan.notify event=mute id=dumb/1 peerid=sip/1
at 4 expect message chan.notify event=deaf id=dumb/2
at 4 expect message chan.notify event=locked
at 4 expect event rejected who=1003 error=forbidden
at 4.5 hangup all
end 5.5
''' % (SPEECH, SPEECH), module=simlib.ENGINE)
tap.ok(r.ok, 'chan.control mute/deaf/lock and DTMF reach the room', r.why())
tap.ok(r.messages('chan.control', handled=True, operation='mute'), 'chan.control answered true')
r.cleanup()

# 7. call.conference masqueraded on a 2-party call: both parties move into the room.
r = simlib.run('''
route ^801$ sip/801
callee 801 answer play=tone:1000 record=801.wav
at 0 call 1001 801 play=tone:440 record=1001.wav
at 1 message chan.masquerade id=sip/1 message=call.conference room=conf/r7 notify=mon/r7 lonely=true
at 4 expect state 1001 answered
at 4 expect state 801 answered
at 4 expect message chan.notify event=joined users=2 targetid=mon/r7
at 4.5 hangup all
end 5.5
''', module=simlib.ENGINE)
# Yate's masquerade hands the channel to the masqueraded message (Channel.cpp,
# Masquerade: msg.userData(chan)), and so does yate-sim: our masqueraded
# call.execute callto=dumb/ connects each party to a new dumb/N.
tap.ok(r.ok, 'call.conference moves both parties of a call into the room', r.why())
cc = r.messages('call.conference', handled=True)
tap.ok(cc and cc[0]['params'].get('peerid', '').startswith('dumb/') and
       cc[0]['params'].get('room') == 'conf/r7', 'call.conference answered with peerid=dumb/N',
       cc)
hears(r, '1001', [1000], [440])
hears(r, '801', [440], [1000])
r.cleanup()

# 8. Talkers with the real media core: talkstart, Yate's speaking list, a final talkstop.
r = simlib.run('''
route ^800$ conf/room8 notify=mon/room8 speakers=true lonely=true
at 0 call 1001 800 play=%s
at 0.5 call 1002 800
at 4 hangup 1001
at 5 hangup all
end 6
''' % SPEECH, module=simlib.ENGINE)
ev = [(p.get('event'), p.get('id')) for p in params(r, 'chan.notify', targetid='mon/room8')]
sp = params(r, 'chan.notify', event='speaking')
tap.ok(r.ok and ('talkstart', 'dumb/1') in ev and ev.index(('talkstop', 'dumb/1')) <
       ev.index(('left', 'dumb/1')), 'talkstart, and a final talkstop before left', ev)
tap.ok(sp and sp[0].get('speaker.1') == 'dumb/1' and sp[0].get('speaker.1.peer') == 'sip/1' and
       sp[0].get('changed') == 'true', 'speaking: speaker.1=dumb/1, speaker.1.peer=<caller>', sp)
r.cleanup()

# 9. RTP stops (the network eats everything from 1002): the leg is dropped after
#    rtp_timeout with reason nomedia; the other caller stays (lonely=true).
cfgdir = tempfile.mkdtemp(prefix='ce-conf-')
cfg = os.path.join(cfgdir, 'conf-engine.conf')
with open(cfg, 'w') as f:
    f.write('[conference]\nrtp_timeout=1000\n')
r = simlib.run('''
route ^800$ conf/room9 lonely=true
at 0 call 1001 800 play=tone:440
at 0.5 call 1002 800 play=tone:440 loss=100
at 4 expect state 1002 hungup
at 4 expect state 1001 answered
at 4.5 hangup all
end 5.5
''', module=simlib.ENGINE + ['-c', cfg])
tap.ok(r.ok, 'a leg whose RTP stops is dropped, the room goes on', r.why())
tap.ok(r.messages('call.drop', id='dumb/2', reason='nomedia') and
       not r.messages('call.drop', id='dumb/1'), 'call.drop id=dumb/2 reason=nomedia only')
r.cleanup()
shutil.rmtree(cfgdir, ignore_errors=True)

# 10. The network loses a fifth of 1002's packets: conf show gives each leg's
#     RTP figures, and only 1002's show audio made up for the lost ones;
#     status conf-engine sums them.
r = simlib.run('''
route ^800$ conf/room10 lonely=true
at 0 call 1001 800 play=tone:440
at 0.5 call 1002 800 play=tone:440 loss=20
at 4 message engine.command line="conf show room10"
at 4 message engine.status module=conf-engine
at 4.5 hangup all
end 5.5
''', module=simlib.ENGINE)
show = [m['retval'] for m in r.messages('engine.command', handled=True)]
legs = {}
for line in (show[0].split('\r\n') if show else []):
    w = line.split()
    if len(w) > 2 and w[1].startswith('dumb/'):
        legs[w[1]] = dict(x.split('=', 1) for x in w[2:] if '=' in x)
good, lossy = legs.get('dumb/1', {}), legs.get('dumb/2', {})
tap.ok(int(good.get('rtp_in', 0)) >= 150 and int(lossy.get('rtp_in', 0)) >= 100 and
       int(good.get('rtp_in', 0)) > int(lossy.get('rtp_in', 0)) and
       int(lossy.get('concealed_ms', 0)) >= 200 and
       int(good.get('concealed_ms', 0)) < int(lossy.get('concealed_ms', 0)) // 4 and
       'jitter_ms' in lossy and 'delay_ms' in lossy,
       'conf show: each leg\'s RTP; the lossy one made up for its losses', show)
st = [m['retval'] for m in r.messages('engine.status', handled=True)]
tap.ok(st and 'rtp_concealed_ms=' in st[0] and
       int(st[0].split('rtp_concealed_ms=')[1].split(',')[0]) >=
       int(lossy.get('concealed_ms', 0)),
       'status conf-engine: rtp_concealed_ms sums the legs\'', st)
r.cleanup()

# 11. 1002's own address also sends datagrams that are not RTP, packets of a
#     wrong payload type and a flood (11 copies of each frame): conf show
#     counts them on that leg only, status conf-engine sums them, and the
#     leg's real packets still get through.
r = simlib.run('''
route ^800$ conf/room11 lonely=true
at 0 call 1001 800 play=tone:440
at 0.5 call 1002 800 play=tone:440 garbage=1 badpt=2 flood=10
at 3.5 message engine.command line="conf show room11"
at 3.5 message engine.status module=conf-engine
at 4 hangup all
end 5
''', module=simlib.ENGINE)
show = [m['retval'] for m in r.messages('engine.command', handled=True)]
legs = {}
for line in (show[0].split('\r\n') if show else []):
    w = line.split()
    if len(w) > 2 and w[1].startswith('dumb/'):
        legs[w[1]] = dict(x.split('=', 1) for x in w[2:] if '=' in x)
good, hostile = legs.get('dumb/1', {}), legs.get('dumb/2', {})
figures = ('rtp_bad', 'rtp_wrong_pt', 'rtp_flood')
tap.ok(all(good.get(k) == '0' for k in figures),
       'conf show: a clean leg shows no bad packets', show)
tap.ok(int(hostile.get('rtp_bad', 0)) >= 50 and
       int(hostile.get('rtp_wrong_pt', 0)) >= 2 * int(hostile.get('rtp_bad', 0)) - 10 and
       int(hostile.get('rtp_flood', 0)) >= 50 and int(hostile.get('rtp_in', 0)) >= 50,
       'conf show: the hostile leg counts not-RTP, wrong payload type and flood, '
       'and still takes its packets', show)
st = [m['retval'] for m in r.messages('engine.status', handled=True)]
total = dict(x.split('=', 1) for x in st[0].split(',') if '=' in x) if st else {}
tap.ok(all(int(total.get(k, -1)) >= int(hostile.get(k, 0)) > 0 for k in figures),
       'status conf-engine: rtp_bad, rtp_wrong_pt and rtp_flood sum the legs\'', st)
r.cleanup()

# 12. rate=16000 (docs/conference.md, "Sample rate"): the media runs only 8000 today, so the
#     call joins as before, the room reports the rate asked for (created, conf show) and
#     mixes at 8000 (with a NOTE in the log), and the callers hear each other.
r = simlib.run('''
route ^800$ conf/wide rate=16000 notify=conf-monitor/wide lonely=true
at 0 call 1001 800 play=tone:440 record=1001.wav
at 0.5 call 1002 800 play=tone:1000 record=1002.wav
at 4 expect state 1001 answered
at 4 expect state 1002 answered
at 4 message engine.command line="conf show wide"
at 4.5 hangup all
end 5.5
''', module=simlib.ENGINE)
tap.ok(r.ok, 'rate=16000: both callers join', r.why())
hears(r, '1001', [1000], [440])
hears(r, '1002', [440], [1000])
created = params(r, 'chan.notify', targetid='conf-monitor/wide', event='created')
tap.ok(len(created) == 1 and created[0].get('rate') == '16000',
       'rate=16000: created reports rate=16000, as Yate would', created)
show = [m['retval'] for m in r.messages('engine.command', handled=True)]
tap.ok(len(show) == 1 and ',rate=16000,' in show[0], 'rate=16000: conf show reports it', show)
tap.ok(not r.problems(), 'rate=16000: no protocol problems', r.problems())
r.cleanup()

# conf dsp: show, switch and refuse, on the console (engine.command)
r = simlib.run('''
route ^800$ conf/dsp lonely=true
at 0 call 1001 800 play=tone:440
at 1 message engine.command line="conf dsp dsp dumb/1"
at 1.2 message engine.command line="conf dsp dsp dumb/1 ns=on"
at 1.4 message engine.command line="conf dsp dsp dumb/1 agc=yes ns=off"
at 1.6 message engine.command line="conf dsp dsp dumb/1 ns=maybe"
at 1.8 message engine.command line="conf dsp dsp dumb/9 ns=on"
at 2.5 hangup all
end 3.5
''', module=simlib.ENGINE)
said = [m.get('retval', '') for m in r.messages('engine.command')]
tap.ok(len(said) == 5 and
       said[0].startswith('dsp dumb/1: noise_suppression=off agc=off') and
       said[1].startswith('dsp dumb/1: noise_suppression=on agc=off') and
       said[2].startswith('dsp dumb/1: noise_suppression=off agc=on') and
       'dsp dumb/1' not in said[3] and "no room 'dsp' leg dumb/9" in said[4],
       'conf dsp shows a leg\'s noise suppression and AGC, switches them, refuses a bad value '
       'and an unknown leg', said)
tap.done()
