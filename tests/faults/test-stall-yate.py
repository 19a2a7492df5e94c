#!/usr/bin/env python3
"""test-stall-yate.py - a real Yate 6.4.1 frozen for 60 s (SIGSTOP, then SIGCONT) under a running conference.

Prints TAP.  Unlike yate-sim's stall (test-stall.py: only Yate's reader
of the engine's output stops), a frozen Yate stops everything: it reads
nothing from the engine, and its RTP stops too, so the engine's legs get
no audio.  With the default rtp_timeout (10 s) the engine ends them as
`nomedia` while Yate is frozen; what it writes meanwhile (call.drop,
notifications) waits in the pipe and its buffer.  Shown:
- the engine neither dies nor spins while Yate is frozen: the same
  process throughout, its CPU time over the 60 s under half a core;
- the callers' legs end as nomedia (leave events and CDRs with that
  reason; the room has lonely=true, so that the last one is not dropped
  as 'hangup' by Yate's rule for a room left with one caller), and once
  Yate runs again it gets the engine's call.drops: no dumb/ channel is
  left;
- the engine answers Yate again and admits new callers, who hear each
  other;
- the event log has no broken line.
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib  # noqa: E402
import yatelib  # noqa: E402

STALL = 60
tap = yatelib.Checked()
prefix = yatelib.require(tap)
h = yatelib.heard

with yatelib.Yate(prefix, 'freeze', engine='--config {conf}',
                  engine_conf='[conference]\nenter_prompt=\nleave_prompt=\nlonely_prompt=\n'
                              '[monitor]\ncdr_delay=0\n',
                  routes=[r'^80\(.\)$=conf/f\1;notify=conf-monitor/f\1;lonely=true']) as y:
    tap.yate = y
    tap.ok(y.wait_engine(), 'conf-engine attached to Yate', y.log_tail())
    d = y.driver()
    yatelib.write_slin(y.path('a.slin'), yatelib.tone(440, 120))
    yatelib.write_slin(y.path('b.slin'), yatelib.tone(1000, 120))
    a, _ = d.call('801', play=y.path('a.slin'), caller='A')
    b, _ = d.call('801', play=y.path('b.slin'), caller='B')
    time.sleep(2)
    pids = y.engine_pids()
    pid = pids[0] if pids else None
    cpu0 = pid and faultlib.cpu_seconds(pid)
    os.kill(y.proc.pid, signal.SIGSTOP)
    try:
        time.sleep(STALL)
        cpu1 = pid and faultlib.cpu_seconds(pid)
    finally:
        os.kill(y.proc.pid, signal.SIGCONT)
    used = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    tap.ok(a and b and used is not None and used < 0.5 * STALL,
           'while Yate is frozen the engine lives and does not spin: %s s of CPU over %d s'
           % (None if used is None else round(used, 2), STALL), (a, b, pid, cpu0, cpu1))
    print('# engine CPU over the %d s freeze: %s s' % (STALL, None if used is None else
                                                        round(used, 2)))
    gone = yatelib.wait_for(lambda: (lambda out: 'chans=0' in out and out)(
        y.rm('status dumb', until=r'\r\n', timeout=3)), timeout=15)
    tap.ok(gone, 'once Yate runs again it gets the engine\'s call.drops (the legs ended as '
           'nomedia): no dumb/ channel is left', y.rm('status dumb', until=r'\r\n', timeout=3))
    tap.ok(y.engine_pids() == pids and y.engine_status(),
           'the same engine answers Yate after the freeze', (pids, y.engine_pids()))
    c, _ = d.call('802', play=y.path('a.slin'), caller='C', record=y.path('heard-by-C.slin'))
    e, _ = d.call('802', play=y.path('b.slin'), caller='D', record=y.path('heard-by-D.slin'))
    time.sleep(3)
    for ch in (c, e):
        if ch:
            d.drop(ch)
    heard_c = yatelib.read_slin(y.path('heard-by-C.slin'))
    tap.ok(c and e and h(heard_c, 1000) > 0.5,
           'new callers join after the freeze and hear each other', h(heard_c, 1000))
    ends = yatelib.wait_for(lambda: [o for o in y.events() if o.get('type') == 'cdr' and
                                     o.get('room') == 'f1'], timeout=10) or []
    tap.ok(len(ends) == 2 and all(o.get('reason') == 'nomedia' for o in ends),
           'the frozen legs\' CDRs say nomedia', ends)
    objs, broken = faultlib.jsonl_check(y.path('events.jsonl'))
    tap.ok(objs and not broken, 'the event log has no broken line', broken)
tap.done()
