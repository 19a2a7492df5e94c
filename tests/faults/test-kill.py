#!/usr/bin/env python3
"""test-kill.py - kill -9 of the engine at random moments of a running conference, under yate-sim.

Prints TAP.  20 runs (CE_FAULT_KILLS), four at a time, each in its own
folder with its own SQLite store, spool, event log and recordings: three
callers join a recorded room (one leaves again), the engine is killed
with SIGKILL at a random moment of the 2.5 s after the second caller was
answered (while the third joins and leaves), the simulator restarts
it at once (it asked for restart, as from real Yate), and a new caller
comes 5 s in.  The moments come from one seed, printed first; set
CE_FAULT_SEED to replay a run.

What holds today, checked in every run:
- the new engine starts and admits the new caller to the room
  (engine.status: legs=1);
- every recording made so far is readable: the killed engine's up to about
  its last second (its header may lag the data by at most 2 s of audio),
  the new engine's exactly;
- the event log has no broken line;
- the store has no doubled event or CDR.
And what the crash reconcile (issue 19, defect 3: the open-leg journal in
state_dir) gives, checked by reconcile_checks(): every participant (every
phone a room answered) has exactly one closed CDR, and neither of the
first two callers is left answered without a room (hung up by the engine,
or resumed and hearing the new caller).
"""
import os
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib  # noqa: E402
import simlib  # noqa: E402

RUNS = int(os.environ.get('CE_FAULT_KILLS', '20'))
PARALLEL = 4
tap = faultlib.Tap()
if faultlib.built():
    tap.skip_all(faultlib.built())
rnd = faultlib.seeded_random('kill -9 moments')
moments = [round(rnd.uniform(0.0, 2.5), 3) for _ in range(RUNS)]
print('# kill moments (s after the second caller was answered): %s' % moments)

SCENARIO = '''
route ^800$ conf/k notify=conf-monitor/k record=rec.wav
at 0 call 1001 800 play=tone:440 record=1001.wav
at 0.3 call 1002 800 play=tone:1000 record=1002.wav
at 0.6 call 1003 800
at 1.2 hangup 1003
at 5 call 2001 800 play=tone:700 record=2001.wav
at 6.5 expect state 2001 answered
at 6.5 message engine.status module=conf-engine
at 7 hangup 2001
at 7.5 message engine.status module=conf-engine
end 8
'''


def one_run(i, out):
    work = tempfile.mkdtemp(prefix='ce-kill-%d-' % i)
    conf = os.path.join(work, 'conf-engine.conf')
    faultlib.write(conf, '[general]\nnode=kill%d\nstate_dir=%s/state\n[conference]\nenter_prompt=\nleave_prompt=\n'
                         'lonely_prompt=\nrecord_prompt=\nrecord_dir=%s/rec\n'
                         '[store]\nsqlite_path=%s/conf.db\nspool_dir=%s/spool\nworkers=1\n'
                         '[monitor]\nevent_log=%s/monitor.jsonl\ncdr_delay=0\n'
                         % (i, work, work, work, work, work))
    sim = faultlib.Sim(SCENARIO, conf=conf, workdir=work, args=['--allow', 'crash'])
    killed = None
    try:
        pid = sim.engine_pid()
        # 1001 and 1002 are in the room (the sim logs an answer within 20 ms)
        both = sim.wait('answered', who='1002')
        if pid and both:
            time.sleep(moments[i])
            try:
                os.kill(pid, signal.SIGKILL)
                killed = pid
            except OSError:
                pass
        out[i] = (sim.finish(), killed, work)
    finally:
        sim.kill()


def leftovers(i, r, killed, work):
    """What holds today after a kill and a restart."""
    tag = 'run %d (kill at %.3f s)' % (i + 1, moments[i])
    starts = r.events('engine-start')
    tap.ok(killed and len(starts) == 2 and r.events('engine-restart') and not r.problems(),
           '%s: the engine was killed and a new one started (no other problem: no timeout, '
           'no sanitizer report, a clean exit at the end)' % tag,
           'killed=%s starts=%s\n%s\n%s' % (killed, starts, r.why(), r.problems()))
    # 2001 joins room k: alone, or with 1001 and 1002 when the new engine resumed them
    tap.ok(r.events('answered', who='2001') and r.expectations() and
           all(ok for ok, _, _ in r.expectations()) and faultlib.status(r, 'legs', 0) in (1, 2, 3),
           '%s: the new engine admits a new caller to the room' % tag,
           (r.expectations(), r.messages('engine.status')[:1]))
    recdir = os.path.join(work, 'rec')
    wavs = sorted(os.listdir(recdir)) if os.path.isdir(recdir) else []
    bad = []
    for name in wavs:
        # the new engine's recording ends cleanly; one the kill cut may lag its header
        ok, detail = faultlib.wav_ok(os.path.join(recdir, name), slack=32000)
        if not ok:
            bad.append(detail)
    tap.ok(len(wavs) >= 1 and not bad and 'rec.wav' in wavs,
           '%s: every recording is readable (%s), none overwritten' % (tag, ', '.join(wavs)), bad)
    objs, broken = faultlib.jsonl_check(os.path.join(work, 'monitor.jsonl'))
    tap.ok(objs and not broken, '%s: the event log has no broken line' % tag, broken)
    db = os.path.join(work, 'conf.db')
    ev = faultlib.db_rows(db, 'SELECT kind, room, leg, at FROM events')
    cdr = faultlib.db_rows(db, 'SELECT room, leg, joined_at FROM cdrs')
    tap.ok(ev and cdr is not None and not faultlib.doubled(ev) and not faultlib.doubled(cdr),
           '%s: the store has no doubled event or CDR' % tag,
           (faultlib.doubled(ev), faultlib.doubled(cdr)))


def reconcile_checks(i, r, work):
    """What the crash reconcile (defect 3) must make true; (ok, name, diag) each."""
    tag = 'run %d' % (i + 1)
    db = os.path.join(work, 'conf.db')
    # the participants are the phones a room answered (the sim's view, not the store's)
    joined = sorted(set(e['who'] for e in r.events('answered')))
    cdrs = faultlib.db_rows(db, 'SELECT caller, left_at FROM cdrs') or []
    wrong = {who: c for who, c in ((w, [c for c in cdrs if c[0] == w]) for w in joined)
             if len(c) != 1 or not c[0][1]}
    out = [('1001' in joined and not wrong,
            '%s: every participant (%s) has exactly one closed CDR' % (tag, ', '.join(joined)),
            'participants without exactly one closed CDR: %s' % wrong)]
    t_end = (r.events('scenario-end') or [{}])[0].get('t', 1e9)
    stranded = []
    for who in ('1001', '1002'):
        hung = [e for e in r.events('hungup', who=who) if e['t'] < t_end]
        heard = simlib.tone_level(simlib.window(r.wav(who + '.wav'), 5.5, 6.5), 700) \
            if os.path.exists(r.path(who + '.wav')) else -120
        if not hung and heard < -45:
            stranded.append((who, round(heard, 1)))
    out.append((not stranded, '%s: no caller is left answered without a room (hung up, or '
                'back in the room hearing the new caller)' % tag, 'stranded: %s' % stranded))
    return out


results = {}
for first in range(0, RUNS, PARALLEL):
    threads = [threading.Thread(target=one_run, args=(i, results))
               for i in range(first, min(RUNS, first + PARALLEL))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
for i in range(RUNS):
    if i not in results:
        tap.ok(False, 'run %d did not finish' % (i + 1))
        continue
    r, killed, work = results[i]
    leftovers(i, r, killed, work)
    for ok, name, diag in reconcile_checks(i, r, work):
        tap.ok(ok, name, diag)
    if tap.failed:
        for e in r.events('stderr')[-15:]:
            print('# ' + e.get('text', ''))
    else:
        r.cleanup()
tap.done()
