#!/usr/bin/env python3
"""test-sim.py - the simulator against the echo module: calls, RTP, DTMF, dial-out, faults (TAP)."""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402

tap = simlib.Tap()


def check(r, name):
    """Every expect step passed and the run ended well."""
    bad = [(w, d) for ok, w, d in r.expectations() if not ok]
    return tap.ok(r.ok and not bad, name, r.why() + '\n' + '\n'.join('%s: %s' % b for b in bad))


# 1. A call to a conf/ room the module takes: dumb/, chan.rtp, answered, echo.
r = simlib.run(open(simlib.data('echo-tone.scn')).read(), module=simlib.ECHO)
check(r, 'echo: answered, hears its own 440 Hz, hangs up')
ex = r.messages('call.execute', handled=True, callto='dumb/')
tap.ok(ex and ex[0]['params'].get('peerid', '').startswith('dumb/'),
       'call.execute answered with callto=dumb/ connects to dumb/N')
# Yate's Router (incoming SIP calls) clears call.route's handlers= before call.execute
tap.ok(ex and ex[0]['params'].get('handlers') == 'yrtp:50,sip:90,dumb:90',
       'handlers= lists yrtp, sip and dumb in Yate order (not call.route\'s regexroute)',
       ex and ex[0]['params'])
rtp = r.messages('chan.rtp', handled=True)
tap.ok(rtp and all(k in rtp[0]['params'] for k in ('localip', 'localport', 'rtpid')) and
       rtp[0]['params'].get('direction') == 'bidir', 'chan.rtp answers localip/localport/rtpid')
st = r.events('rtp-stats', who='1001')
tap.ok(st and st[0]['rx'] > 50 and st[0]['rx_lost'] == 0 and st[0]['rx_pt'] == 0,
       'echoed RTP comes back complete as PCMU', st)
hang = r.messages('chan.hangup')
tap.ok(len(hang) == 2 and r.messages('chan.disconnected', id=ex[0]['params']['peerid']),
       'caller hangup: chan.disconnected for dumb/N, chan.hangup for both', hang)
order = [l.split(':')[3] for l in r.lines('E') if l.startswith('%%<message::')]
tap.ok(order.index('call.route') < order.index('call.execute') < order.index('chan.hangup'),
       'watcher reports come in call order', order)
# A phone hanging up is a BYE: like Yate's SIP channel, the caller's chan.hangup comes first,
# still connected (status answered, peerid and targetid dumb/N), then dumb/N's disconnect.
reports = [simlib.Line(l) for l in r.lines('E') if l.startswith('%%<message::')]
seq = [(l.name, l.get('id', '').split('/')[0]) for l in reports
       if l.name in ('chan.hangup', 'chan.disconnected')]
bye = [l for l in reports if l.name == 'chan.hangup' and l.get('id') == 'sip/1']
tap.ok(seq == [('chan.hangup', 'sip'), ('chan.disconnected', 'dumb'), ('chan.hangup', 'dumb')] and
       bye[0].get('status') == 'answered' and bye[0].get('peerid', '').startswith('dumb/') and
       bye[0].get('targetid') == bye[0].get('peerid'),
       'caller hangup as real Yate\'s SIP BYE: chan.hangup of the caller (still connected), then '
       'chan.disconnected and chan.hangup of dumb/N', [l.text for l in reports[-3:]])
r.cleanup()

# 1b. Load mode: one shared socket, one loopback address per leg, same behaviour.
r = simlib.run(open(simlib.data('echo-tone.scn')).read(), module=simlib.ECHO,
               args=['--rtp-shared'])
check(r, 'load mode (--rtp-shared): the same call works')
rtp = r.messages('chan.rtp', handled=True)
tap.ok(rtp and rtp[0]['params'].get('localip', '').startswith('127.1.'),
       'load mode: each leg has its own 127.1.x.y address', rtp)
r.cleanup()

# 2. Without complete_minimal the channel's direction wins and no RTP is made (as in Yate).
r = simlib.run('''
route ^800$ conf/room1
at 0 call 1001 800 play=tone:440
at 1.5 expect silent 1001
at 1.6 hangup all
''', module=simlib.ECHO + ['--no-minimal'])
rtp = r.messages('chan.rtp')
tap.ok(rtp and not rtp[0]['handled'] and rtp[0]['params'].get('direction') == 'outgoing',
       'masquerade without complete_minimal: direction=outgoing, chan.rtp not handled', rtp)
tap.ok(not r.events('rtp'), 'no RTP endpoint was opened')
r.cleanup()

# 2b. chan.locate is answered by the driver that has the channel (Yate's Driver relay at 40);
# a crash step kills the module, which comes back (it asked restart=true), the call stays.
r = simlib.run('''
route ^800$ conf/room1
at 0 call 1001 800 play=tone:440
at 1 message chan.locate id=dumb/1
at 1 message chan.locate id=dumb/99
at 1 message chan.locate id=sip/1
at 1.2 crash
at 2.5 message chan.locate id=dumb/1
at 2.5 expect state 1001 answered
at 2.6 hangup all
end 3
''', module=simlib.ECHO)
check(r, 'crash step: the scenario runs on')
loc = [(m['params'].get('id'), m['handled'], m['params'].get('handlers'))
       for m in r.messages('chan.locate')]
tap.ok(len(loc) == 4 and loc[0] == ('dumb/1', True, 'sip:40,dumb:40') and
       loc[1][:2] == ('dumb/99', False) and loc[2] == ('sip/1', True, 'sip:40') and
       loc[3][:2] == ('dumb/1', True),
       'chan.locate: true from the channel\'s driver at 40, false for an unknown channel', loc)
tap.ok(r.events('engine-kill', by='scenario') and r.events('engine-restart') and
       not r.problems(), 'the killed module is restarted, and its death is no problem',
       r.problems())
r.cleanup()

# 3. Caller DTMF reaches the module's chan.dtmf at 50; '#' makes it drop the leg.
r = simlib.run('''
route ^800$ conf/room1
at 0 call 1001 800 play=tone:440
at 1 dtmf 1001 1#
at 2 expect state 1001 hungup
end 2.2
''', module=simlib.ECHO)
check(r, 'dtmf: the module kicks the caller')
d = r.messages('chan.dtmf', text='1')
tap.ok(d and d[0]['handled'] and d[0]['params'].get('peerid', '').startswith('dumb/') and
       d[0]['params'].get('sequence') == '1', 'chan.dtmf carries peerid=dumb/N and sequence', d)
drop = r.messages('call.drop', reason='kicked')
tap.ok(drop and drop[0]['handled'] and drop[0]['params'].get('handlers') == 'sip:60,dumb:60',
       'call.drop handled by the dumb driver at 60', drop)
tap.ok(r.messages('chan.disconnected', id='sip/1', reason='kicked') and
       r.messages('chan.hangup', status='kicked'),
       'caller gets chan.disconnected reason=kicked, dumb/N chan.hangup status=kicked')
tap.ok(r.events('hungup', who='1001', reason='kicked'), 'the phone saw the kick')
h = r.messages('chan.hangup', id='sip/1')
tap.ok(h and h[0]['params'].get('module') == 'sip' and 'reason' not in h[0]['params'],
       'the kicked caller hangs up with its own parameters (disconnect ones are cleared)', h)
r.cleanup()

# 3a. A stalled reader (real Yate's extmodule reader thread held up): what the module
#     writes waits, what Yate sends still goes out, RTP goes on; then reading resumes.
r = simlib.run('''
route ^800$ conf/room1
at 0 call 1001 800 play=tone:440
at 0.8 stall 1.5 echo-module.py
at 1 dtmf 1001 1#
at 2 expect state 1001 answered
at 2 expect heard 1001 440 window=500
at 3 expect state 1001 hungup
end 3.2
''', module=simlib.ECHO)
check(r, 'stall: the caller still hears the echo while Yate is not reading the module')
st, res = r.events('stall', module='echo-module.py'), r.events('resume')
drop = r.messages('call.drop', reason='kicked')
keys = r.events('dtmf', who='1001')
dtmf = r.messages('chan.dtmf', handled=True)
tap.ok(st and res and st[0]['ms'] == 1500 and keys and keys[-1]['t'] < res[0]['t'] and
       len(dtmf) == 2 and all(m['t'] >= res[0]['t'] for m in dtmf + drop) and drop,
       'stall: the keys pressed during the stall reach the module, whose answers and call.drop '
       'are read once the stall is over', (st, res, keys, dtmf, drop))
r.cleanup()

# 3b. Steps triggered by a phone's state: PIN-style digits once answered.
r = simlib.run('''
route ^800$ conf/room1
on answered 1001 +0.5 dtmf 1001 12#
on hungup 1001 log 1001 is gone
at 0 call 1001 800
at 3 expect event log "text=1001 is gone"
''', module=simlib.ECHO)
check(r, '"on answered ... dtmf" and "on hungup ... log" fire once, in order')
tr = r.events('trigger')
tap.ok([e['state'] for e in tr] == ['answered', 'hungup'] and
       [m['params']['text'] for m in r.messages('chan.dtmf')] == ['1', '2', '#'],
       'triggers fire on the state, the digits follow', tr)
r.cleanup()

# 4. Dial-out: call.execute callto=dumb/ target=N, callees that answer, are busy, offline...
r = simlib.run('''
route ^80(.)$ sip/80$1
callee 801 answer delay=0.5 play=tone:1000
callee 802 busy delay=0.2
callee 803 noanswer delay=0.5
callee 901 answer
at 0 message call.execute callto=dumb/ target=801 caller=800 callername=Conference
at 0 message call.execute callto=dumb/ target=802 caller=800
at 0 message call.execute callto=dumb/ target=803 caller=800
at 0 message call.execute callto=dumb/ target=804 caller=800
at 0 message call.execute callto=dumb/ target=999 caller=800
at 0 message call.execute callto=dumb/ target=901 caller=800
at 1.5 expect state 801 answered
at 1.5 expect state 802 hungup
at 1.5 expect state 803 hungup
at 1.5 expect state 901 answered
at 1.6 message call.drop id=dumb/1 reason=schedule-ended
at 1.8 expect state 801 hungup
''')
check(r, 'dial-out scenario runs without a module (a declared callee needs no route)')
ex = r.messages('call.execute', target='801')
tap.ok(ex and ex[0]['handled'] and ex[0]['params'].get('id') == 'dumb/1' and
       ex[0]['params'].get('peerid') == 'sip/1', 'dial-out answer carries id=dumb/N and peerid', ex)
tap.ok(r.messages('call.answered', id='sip/1', handled=True),
       'the callee answers: call.answered handled by the dumb channel')
tap.ok(r.messages('chan.disconnected', reason='busy', error='busy'),
       'busy callee: chan.disconnected reason=busy error=busy')
tap.ok(r.messages('chan.disconnected', reason='noanswer'), 'unanswered callee: reason=noanswer')
off = r.messages('call.execute', target='804')
tap.ok(off and not off[0]['handled'] and off[0]['params'].get('error') == 'offline',
       'unknown callee: call.execute false with error=offline', off)
nr = r.messages('call.execute', target='999')
tap.ok(nr and not nr[0]['handled'] and r.events('noroute', called='999'),
       'unroutable target: call.execute false (noroute)', nr)
tap.ok(r.messages('chan.hangup', id='dumb/1', status='schedule-ended'),
       'call.drop of the dial-out leg: chan.hangup status=schedule-ended')
r.cleanup()

# 4b. Dial-out to an external script, as Yate 6.4.1 does it: target= is
#     required even with direct=; copyparams= reach the script's call.execute;
#     the script's channel sets no peerid and ends quietly when dropped.
r = simlib.run('''
external rec.php
at 0 message call.execute callto=dumb/ direct=external/nodata/rec.php caller=1001
at 0.2 message call.execute callto=dumb/ direct=external/nodata/rec.php target=800 caller=1001 room=r1 notify=mon/r1 cdrtrack=false copyparams=room,notify,cdrtrack
at 0.4 message call.execute callto=dumb/ direct=external/nodata/nosuch.php target=800
at 0.6 message call.execute callto=dumb/ direct=external/bogus/rec.php target=800
at 1 message call.drop id=dumb/1 reason=stop
end 1.5
''')
ex = r.messages('call.execute', callto='dumb/')
tap.ok(r.ok and len(ex) == 4 and [m['handled'] for m in ex] == [False, True, False, False],
       'external/: no target= fails, a declared script answers, others fail', ex)
inner = r.messages('call.execute', callto='external/nodata/rec.php', handled=True)
p = inner[0]['params'] if inner else {}
tap.ok(p.get('id') == 'dumb/1' and p.get('caller') == '1001' and p.get('called') == '800' and
       p.get('room') == 'r1' and p.get('notify') == 'mon/r1' and p.get('cdrtrack') == 'false' and
       p.get('handlers', '').endswith('extmodule:100'),
       'the script gets the copyparams=, called=target, from the dumb channel', inner)
tap.ok(ex and ex[1]['params'].get('id') == 'dumb/1' and 'peerid' not in ex[1]['params'],
       'the answer names dumb/N and no peerid', ex and ex[1])
tap.ok(r.events('connected', who='rec.php', chan='external/1', peer='dumb/1') and
       r.events('hungup', who='rec.php') and r.messages('chan.hangup', id='dumb/1') and
       not r.messages('chan.hangup', id='external/1') and
       not r.messages('chan.disconnected', id='external/1'),
       'dropping dumb/N ends the script quietly (no chan.disconnected/hangup of its own)')
r.cleanup()

# 5. Yate's own conference when nobody takes conf/: transcript 1's notifications.
r = simlib.run('''
route ^802$ conf/yroom notify=conf-monitor/yroom speakers=true lonely=true maxusers=5
at 0 call alice 802 number=1001 play=tone:400
at 0.5 call 1002 802 play=tone:600
at 1 hangup alice
at 1.5 hangup 1002
''')
ev = [m['params'].get('event') for m in r.messages('chan.notify')]
tap.ok(r.ok and ev[:2] == ['created', 'joined'] and ev[-2:] == ['left', 'destroyed'] and
       'speaking' in ev, 'conf stand-in: created, joined, speaking, left, destroyed', ev)
tap.ok(r.events('call', who='alice', caller='1001') and r.messages('call.route', caller='1001'),
       'a phone label with its own number= (caller=1001)')
j = r.messages('chan.notify', event='joined', users='2')
tap.ok(j and j[0]['params'].get('targetid') == 'conf-monitor/yroom' and
       j[0]['params'].get('id') == 'conf/2', 'joined carries id=conf/N and targetid', j)
r.cleanup()

# 6. Audio files, recording, and network trouble on the way.
r = simlib.run('''
route ^800$ conf/room1
at 0 call 1001 800 play=%s record=1001.wav loop=false
at 0 call 1002 800 play=tone:700 loss=10 jitter=40 reorder=5 record=1002.wav
at 3 expect heard 1002 700 window=1500
at 3.2 hangup all
''' % simlib.data('speech.wav'), module=simlib.ECHO)
check(r, 'speech file and impaired tone')
sp = r.wav('1001.wav')
tap.ok(len(sp) > 8000 * 2 and simlib.level_dbfs(sp) > -40, 'the speech came back and was recorded',
       (len(sp), simlib.level_dbfs(sp)))
st = r.events('rtp-stats', who='1002')
tap.ok(st and st[0]['rx_lost'] > 0 and st[0]['rx_ooo'] > 0,
       'loss and reordering show in the receive counters', st)
r.cleanup()

# 7. A module that never answers: Yate's timeout, then the dispatch goes on.
r = simlib.run('''
route ^800$ conf/room1
at 0 call 1001 800
end 1.5
''', module=simlib.ECHO + ['--hang'], args=['--timeout', '300'])
ex = r.messages('call.execute', callto='conf/room1')
tap.ok(r.code == simlib.MODULE_PROBLEM and r.problems('timeout') and ex and
       ex[0]['params'].get('handlers', '').endswith('conf:90'),
       'hung module: timeout reported, the dispatch goes on to Yate\'s conference (exit 2)',
       r.why())
r.cleanup()

# 8. Garbage and floods are reported; Error in: goes back.
r = simlib.run('end 0.5\n', module=simlib.ECHO + ['--garbage'])
tap.ok(r.code == simlib.MODULE_PROBLEM and 'Error in: %%>bogus:line' in r.lines('E'),
       'bad line: "Error in:" answered and reported', r.why())
r.cleanup()
r = simlib.run('end 0.5\n', module=simlib.ECHO + ['--flood', '3000'], args=['--flood', '1000'])
tap.ok(r.code == simlib.MODULE_PROBLEM and r.problems('flood'), 'flood reported', r.why())
r.cleanup()

# 9. A crash while calls run, and a module that will not exit, fail clearly and in bounded time.
r = simlib.run('route ^800$ conf/r\nat 0 call 1001 800\nend 1\n', module=simlib.ECHO + ['--crash'])
tap.ok(r.code == simlib.MODULE_PROBLEM and r.problems('crash') and
       'exited with status 3' in r.why(), 'crash reported with its exit status', r.why())
r.cleanup()
# A sanitizer build leaves with a status (ASan/UBSan 1, LeakSanitizer 23 at exit) and a
# report on stderr, not a signal: either fails the run, also when the exit was expected.
r = simlib.run('end 0.2\n', module=simlib.ECHO + ['--exit-status', '23'], timeout=30)
tap.ok(r.code == simlib.MODULE_PROBLEM and r.problems('exit-status') and
       'exited with status 23' in r.why(), 'a non-zero exit at the end is a problem', r.why())
r.cleanup()
r = simlib.run('end 0.2\n', module=simlib.ECHO + ['--asan-report'], timeout=30)
tap.ok(r.code == simlib.MODULE_PROBLEM and r.problems('sanitizer') and
       'heap-use-after-free' in r.why() and not r.problems('exit-status'),
       'a sanitizer report on the module\'s stderr is a problem', r.why())
r.cleanup()
r = simlib.run('end 0.2\n', module=simlib.ECHO + ['--tsan-report'], timeout=30)
tap.ok(r.code == simlib.MODULE_PROBLEM and r.problems('sanitizer') and
       'WARNING: ThreadSanitizer: data race' in r.why() and not r.problems('exit-status'),
       'a ThreadSanitizer report (a WARNING, exit 0) is a problem too', r.why())
r.cleanup()
r = simlib.run('end 0.2\n', module=simlib.ECHO + ['--exit-status', '1'], timeout=30,
               args=['--allow', 'exit-status'])
tap.ok(r.code == 0 and r.ok, '--allow exit-status lets a run expect it', r.why())
r.cleanup()
r = simlib.run('end 0.2\n', module=simlib.ECHO + ['--ignore-eof'], timeout=30)
tap.ok(r.code == simlib.MODULE_PROBLEM and r.problems('hang') and
       r.events('engine-kill', signal='TERM'), 'module ignoring EOF: TERM after 3 s, reported',
       r.why())
r.cleanup()

# 10. --connect mode: the module connects to our socket and says %%>connect:global.
import tempfile  # noqa: E402
sock = os.path.join(tempfile.mkdtemp(prefix='yate-sim-sock-'), 'ext.sock')
holder = {}


def sim_thread():
    holder['r'] = simlib.run('''
route ^800$ conf/room1
at 0 call 1001 800 play=tone:440
at 1.5 expect heard 1001 440
at 1.6 hangup all
''', args=['--listen', 'unix:' + sock, '--ready-max', '20'])


t = threading.Thread(target=sim_thread)
t.start()
for _ in range(200):
    if os.path.exists(sock):
        break
    threading.Event().wait(0.05)
import subprocess  # noqa: E402
mod = subprocess.Popen(simlib.ECHO + ['--connect', sock], stderr=subprocess.DEVNULL)
t.join(60)
try:
    mod.wait(10)
except subprocess.TimeoutExpired:
    mod.kill()
r = holder.get('r')
tap.ok(r and r.ok and r.events('connected', role='global'),
       'socket mode: a connecting module runs the same scenario', r and r.why())
if r:
    r.cleanup()

# 11. Scenario errors are caught before anything runs.
r = simlib.run('at 0 cal 1001 800\n')
tap.ok(r.code == simlib.USAGE and 'line 1' in r.stderr, 'a typo in a scenario is a usage error',
       r.stderr)
r.cleanup()

tap.done()
