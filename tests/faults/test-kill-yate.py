#!/usr/bin/env python3
"""test-kill-yate.py - kill -9 of the engine at random moments of a running conference, under a real Yate 6.4.1.

Prints TAP.  One private Yate runs conf-engine under [scripts] (it asks
restart=true, so Yate's extmodule starts a new one the moment it dies).
20 times (CE_FAULT_KILLS): two real callers (wavefile channels playing
tones) join a recorded room, the engine is killed with SIGKILL after a
random delay (seed printed; CE_FAULT_SEED replays), and once Yate has
started the new engine a third caller joins; then all three hang up.

What holds today: after every kill a new engine answers Yate and admits
the new caller; in the end every recording in record_dir is readable (a
killed engine's header lags its data by at most 2 s of audio), the event
log has no broken line, the store no doubled event or CDR.
And what the crash reconcile (issue 19, defect 3) gives: after the restart no dumb/ channel of Yate is answered without a leg in
the engine, and every participant (every caller the engine took) has
exactly one closed CDR.
"""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib  # noqa: E402
import yatelib  # noqa: E402

RUNS = int(os.environ.get('CE_FAULT_KILLS', '20'))
tap = yatelib.Checked()
prefix = yatelib.require(tap)
rnd = faultlib.seeded_random('kill -9 delays under real Yate')
delays = [round(rnd.uniform(0.05, 2.0), 3) for _ in range(RUNS)]
print('# kill delays (s after the second caller joined): %s' % delays)


def dumb_chans(y):
    """Yate's dumb/ channels (id -> status) from `status dumb`."""
    out = y.rm('status dumb', until=r'\r\n', timeout=3)
    return dict(re.findall(r'(dumb/\d+)=([a-z]+)', out))


def engine_legs(y):
    m = re.search(r'[,;]legs=(\d+)', y.engine_status())
    return int(m.group(1)) if m else None


with yatelib.Yate(prefix, 'kill', engine='--config {conf}',
                  engine_conf='[conference]\nenter_prompt=\nleave_prompt=\nlonely_prompt=\n'
                              'record_prompt=\nrecord_dir=rec\n[monitor]\ncdr_delay=0\n',
                  routes=[r'^800$=conf/kc;notify=conf-monitor/kc;record=rec.wav']) as y:
    tap.yate = y
    tap.ok(y.wait_engine(), 'conf-engine attached to Yate', y.log_tail())
    d = y.driver()
    yatelib.write_slin(y.path('a.slin'), yatelib.tone(440, 30))
    yatelib.write_slin(y.path('b.slin'), yatelib.tone(1000, 30))
    stranded, joined = [], []  # the callers the engine took (names, as caller= in CDRs)
    for k in range(RUNS):
        tag = 'kill %d (after %.3f s)' % (k + 1, delays[k])
        old = y.engine_pids()
        a, _ = d.call('800', play=y.path('a.slin'), caller='A%d' % k)
        b, _ = d.call('800', play=y.path('b.slin'), caller='B%d' % k)
        time.sleep(delays[k])
        for pid in old:
            os.kill(pid, signal.SIGKILL)
        new = yatelib.wait_for(lambda: (lambda p: p and not set(p) & set(old) and
                                        y.engine_status() and p)(y.engine_pids()))
        c, ans = d.call('800', caller='C%d' % k)
        joined += [who for who, ch in (('A%d' % k, a), ('B%d' % k, b), ('C%d' % k, c)) if ch]
        tap.ok(old and a and b and new and c,
               '%s: Yate started a new engine, which admits a new caller' % tag,
               'old=%s new=%s a=%s b=%s c=%s %s\n%s' % (old, new, a, b, c, ans, y.log_tail(10)))
        time.sleep(0.5)
        chans = {ch: st for ch, st in dumb_chans(y).items() if st == 'answered'}
        legs = engine_legs(y)
        if legs is None or len(chans) != legs:
            stranded.append((k + 1, sorted(chans), legs))
        for ch in (a, b, c):
            if ch:
                d.drop(ch)
        yatelib.wait_for(lambda: engine_legs(y) == 0, timeout=5)
    tap.ok(not stranded, 'after each kill no dumb/ channel of Yate is answered without a leg in '
              'the new engine', 'kill, answered dumb/ channels, engine legs: %s' % stranded[:5])
    recdir = y.path('rec')
    wavs = sorted(os.listdir(recdir)) if os.path.isdir(recdir) else []
    bad = [detail for ok, detail in (faultlib.wav_ok(os.path.join(recdir, n), slack=32000)
                                     for n in wavs) if not ok]
    tap.ok(len(wavs) >= RUNS and not bad,
           'every recording is readable (%d files; the killed engines\' up to about their last '
           'second)' % len(wavs), bad[:5])
    objs, broken = faultlib.jsonl_check(y.path('events.jsonl'))
    tap.ok(objs and not broken, 'the event log has no broken line (%d lines)' % len(objs), broken)
    db = y.path('conf-engine.db')
    ev = faultlib.db_rows(db, 'SELECT kind, room, leg, at FROM events')
    cdr = faultlib.db_rows(db, 'SELECT room, leg, joined_at FROM cdrs')
    tap.ok(ev and cdr is not None and not faultlib.doubled(ev) and not faultlib.doubled(cdr),
           'the store has no doubled event or CDR (%s events, %s CDRs)'
           % (len(ev or ()), len(cdr or ())), (faultlib.doubled(ev), faultlib.doubled(cdr)))
    closed = [c for (c,) in faultlib.db_rows(db, 'SELECT caller FROM cdrs WHERE left_at > 0') or []]
    wrong = [w for w in joined if closed.count(w) != 1]
    tap.ok(joined and not wrong,
              'every participant (%d callers the engine took) has exactly one closed CDR'
              % len(joined), 'callers without exactly one closed CDR: %d, e.g. %s'
              % (len(wrong), wrong[:5]))
tap.done()
