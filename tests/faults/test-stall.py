#!/usr/bin/env python3
"""test-stall.py - Yate stops reading the engine for 60 s, then reads again (yate-sim's stall step).

Prints TAP.  Three callers talk in a room (440 Hz, 1000 Hz, silence),
all recording what they hear; then the simulator stops reading what the
engine writes for 60 s, as real Yate's extmodule does while its reader
thread is held up.  During the stall one caller hangs up (Yate still
writes to the engine) and a new one calls, whose call.execute Yate gives
up on after its 10 s timeout.  Shown:
- media goes on: over the whole stall each talker's recording holds the
  other's tone, every second of it;
- the engine neither dies (one engine, no exit) nor spins: its CPU time
  over the stall (/proc/PID/stat) stays under half of one core, a bound
  on behaviour, not a speed measure;
- once Yate reads again everything the engine wrote gets through, in
  order: its messages ce1, ce2, ... arrive with no gap and no swap, every
  message Yate sent it is answered exactly once (the late ones too), the
  hung-up caller's 'left' notification arrives;
- the room is right afterwards: the caller who came during the stall is
  not left in it, the one who hung up is gone, a new caller joins and is
  heard, engine.status counts exactly the three legs.
The 64 MiB output limit is not reached here (a stall with a quiet room
writes a few KiB); tests/core/test-binary.py floods past it (defect 1).
"""
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib  # noqa: E402
import simlib  # noqa: E402

STALL = 60
tap = faultlib.Tap()
if faultlib.built():
    tap.skip_all(faultlib.built())

work = tempfile.mkdtemp(prefix='ce-stall-')
conf = os.path.join(work, 'conf-engine.conf')
faultlib.write(conf, '[conference]\nenter_prompt=\nleave_prompt=\nlonely_prompt=\n'
                     '[monitor]\nevent_log=%s/monitor.jsonl\ncdr_delay=0\n' % work)
S0 = 3  # the stall starts here; it ends at S0 + STALL
sim = faultlib.Sim('''
route ^800$ conf/stall notify=conf-monitor/stall
at 0 call 1001 800 play=tone:440 record=1001.wav
at 0.3 call 1002 800 play=tone:1000 record=1002.wav
at 0.6 call 1003 800 play=silence
at 2 message engine.status module=conf-engine
at {s0} stall {stall}
at {s0}.1 log stalled
at {h} hangup 1003
at {c} call 1004 800 play=tone:300
at {e} expect heard 1001 1000 window=2000
at {e} expect heard 1002 440 window=2000
at {n} call 1005 800 play=tone:700
at {x} expect heard 1001 700 min=0.2
at {x} expect state 1005 answered
at {x}.5 message engine.status module=conf-engine
end {end}
'''.format(s0=S0, stall=STALL, h=S0 + 3, c=S0 + 5, e=S0 + STALL - 2, n=S0 + STALL + 3,
           x=S0 + STALL + 5, end=S0 + STALL + 6), conf=conf, args=['--allow', 'timeout'])
try:
    pid = sim.engine_pid()
    stalled = sim.wait('log', timeout=faultlib.WAIT, text='stalled')
    cpu0 = cpu1 = None
    if pid and stalled:
        cpu0 = faultlib.cpu_seconds(pid)
        resumed = sim.wait('resume', timeout=STALL + faultlib.WAIT)
        cpu1 = faultlib.cpu_seconds(pid)
    r = sim.finish(timeout=STALL + 120)
finally:
    sim.kill()

tap.ok(r.ok, 'the scenario ran, its expectations held (media heard at the end of the stall)',
       r.why() + '\n' + '\n'.join(str(p) for p in r.problems()))
starts, exits = r.events('engine-start'), r.events('engine-exit')
tap.ok(len(starts) == 1 and all(e.get('expected') for e in exits),
       'the engine did not die: one engine for the whole run, and it left only at the end',
       (starts, exits))
used = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
tap.ok(used is not None and used < 0.5 * STALL,
       'the engine does not spin while Yate is not reading: %s s of CPU over the %d s stall '
       '(bound: half a core)' % (None if used is None else round(used, 2), STALL),
       'pid=%s cpu before=%s after=%s' % (pid, cpu0, cpu1))
print('# engine CPU over the %d s stall: %s s' % (STALL, None if used is None else round(used, 2)))

# media during the stall: every second of it, each talker heard the other
for who, freq in (('1001', 1000), ('1002', 440)):
    try:
        samples = r.wav(who + '.wav')
    except (OSError, EOFError) as e:
        samples = []
        print('# %s.wav: %s' % (who, e))
    # the phone's recording starts with its call, at about 0 s and 0.3 s
    gaps = []
    for sec in range(S0 + 1, S0 + STALL - 1):
        w = simlib.window(samples, sec, sec + 1)
        if len(w) < 8000 or simlib.tone_ratio(w, freq) < 0.9:
            gaps.append(sec)
    tap.ok(samples and not gaps,
           'during the stall %s heard %d Hz in every second (RTP is not held up by the link)'
           % (who, freq), 'seconds without it: %s' % gaps[:20])

# the engine's output after the stall: complete and in order
out = r.lines('A')
ids = [int(m.group(1)) for m in (re.match(r'%%>message:ce(\d+):', l) for l in out) if m]
tap.ok(ids and ids == list(range(1, len(ids) + 1)),
       'the engine\'s messages arrive complete and in order (ce1..ce%d, no gap, no swap)'
       % len(ids), ids)
sent = [simlib.Line(l).id for l in r.lines('E') if l.startswith('%%>message:')]
answered = [simlib.Line(l).id for l in out if l.startswith('%%<message:')]
twice = faultlib.doubled([(i,) for i in answered])
tap.ok(sorted(sent) == sorted(answered) and not twice,
       'every message Yate sent is answered exactly once, those of the stall too (%d)' % len(sent),
       'unanswered: %s\nanswered twice: %s' % (sorted(set(sent) - set(answered)), twice))
t_resume = (r.events('resume') or [{}])[0].get('t', 1e9)
t_stall = (r.events('stall') or [{}])[0].get('t', 0)
timeouts = r.events('timeout')
tap.ok(all(t_stall <= e['t'] <= t_resume for e in timeouts),
       'Yate\'s only timeouts are of messages it sent during the stall (--allow timeout hides '
       'no other)', timeouts)
late = r.events('unmatched')
tap.ok(late and all(e['t'] >= t_resume for e in late),
       'the answer Yate gave up on (1004\'s call.execute, after its 10 s timeout) arrives after the '
       'stall, late, and is dropped by Yate as unknown', late)
left = r.messages('chan.notify', event='left', id='dumb/3')
tap.ok(left and left[0]['t'] >= t_resume,
       'the caller who hung up during the stall gets its \'left\' notification once Yate reads',
       left)

# the room afterwards
tap.ok(r.events('rejected', who='1004') or r.events('hungup', who='1004'),
       'the caller whose call.execute timed out in Yate is not in a call',
       r.events(who='1004'))
st = [m['retval'] for m in r.messages('engine.status') if m.get('retval')]
legs = faultlib.status(r, 'legs')
tap.ok(len(st) == 2 and legs == 3,
       'after the stall the engine counts exactly the three callers in the room '
       '(1001, 1002, 1005; not 1003 who left, not 1004 who never got in)', st)
tap.ok(r.events('answered', who='1005'), 'a new caller is answered after the stall')
objs, broken = faultlib.jsonl_check(os.path.join(work, 'monitor.jsonl'))
tap.ok(not broken, 'the event log has no broken line', broken)

if tap.failed:
    for e in r.events('stderr')[-40:]:
        print('# ' + e.get('text', ''))
r.cleanup()
shutil.rmtree(work, ignore_errors=True)
tap.done()
