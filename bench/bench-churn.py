#!/usr/bin/env python3
"""bench-churn.py - conf-engine memory over room churn: rooms created and destroyed N times.

yate-sim starts the real conf-engine, as Yate would, with its store on a
SQLite file, its monitor (event log, CDRs) and its dialplan; then, every
1/RATE seconds, CALLERS phones (one playing a tone, the others silence, real
RTP on loopback) call 7<cycle>, which the dialplan routes to a room of its
own, conf/churn<cycle> with notify=conf-monitor/churn<cycle>; HOLD seconds
later they hang up and the room is destroyed. Every EVERY cycles the
scenario asks engine.status and, when its answer is in, the script reads
the engine's VmRSS (/proc/PID/status), its open fds (/proc/PID/fd), its
heap segment and anonymous memory (/proc/PID/smaps) and the heap figures
of the status line (heap_used, heap_free: docs/console.md; store_memory,
SQLite's page caches: docs/database.md; rooms, legs; monitor_calls).

    bench/bench-churn.py [-n CYCLES] [-c CALLERS] [--rate R] [--hold S] [--every K]
    bench/bench-churn.py --seconds 86400 --rate 0.5 --every 900    # a 24 h churn

Prints one row per sample and the least-squares slope of VmRSS (KiB per
1,000 cycles, and per hour) over all samples and over the last half. Run
from the build folder (or set CE_BUILDDIR/CE_SRCDIR). Nothing is asserted:
it prints what it measured.
"""

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location('bench_e2e', os.path.join(HERE, 'bench-e2e.py'))
e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e)

FIRST = 100000


def proc_status_kib(pid, key):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    return 0


def open_fds(pid):
    return len(os.listdir('/proc/%d/fd' % pid))


def smaps_kib(pid):
    """(RSS of the [heap] segment, anonymous memory of the process) in KiB."""
    heap = anon = 0
    name = ''
    with open('/proc/%d/smaps' % pid) as f:
        for line in f:
            w = line.split()
            if re.match(r'^[0-9a-f]+-[0-9a-f]+ ', line):
                name = w[5] if len(w) > 5 else ''
            elif w[0] == 'Rss:' and name == '[heap]':
                heap += int(w[1])
            elif w[0] == 'Anonymous:':
                anon += int(w[1])
    return heap, anon


def scenario(a):
    """The scenario lines (an engine.status before the first room, after every
    EVERY cycles and three while idle at the end), and its end time."""
    lines = ['at 0 message engine.status module=conf-engine']
    t = 0.0
    for k in range(a.n):
        t = 1 + k / a.rate
        first = FIRST + k * a.callers
        lines.append('at %.3f call %d 7%d play=tone:440' % (t, first, k))
        if a.callers > 1:
            lines.append('at %.3f calls %d %d 7%d' % (t + 0.05, a.callers - 1, first + 1, k))
        for c in range(a.callers):
            lines.append('at %.3f hangup %d' % (t + a.hold, first + c))
        if (k + 1) % a.every == 0:
            # all rooms up to k are gone (their CDRs written after cdr_delay)
            lines.append('at %.3f message engine.status module=conf-engine'
                         % (t + a.hold + a.settle))
    t_end = 1 + (a.n - 1) / a.rate + a.hold + a.settle
    for i in range(1, 4):
        # the idle engine after the churn, to see what it gives back
        lines.append('at %.3f message engine.status module=conf-engine' % (t_end + i * a.idle))
    return lines, t_end + 3 * a.idle


def config(a, d):
    with open(os.path.join(d, 'dialplan.conf'), 'w') as f:
        f.write('[default]\n^7\\([0-9]\\+\\)$=conf/churn\\1;notify=conf-monitor/churn\\1\n')
    with open(os.path.join(d, 'engine.conf'), 'w') as f:
        f.write('[general]\nstate_dir=%s\n[log]\n[dialplan]\nfile=dialplan.conf\n'
                '[conference]\nenter_prompt=\nleave_prompt=\nlonely_prompt=\n'
                '[monitor]\n' % d)
        if not a.no_store:
            f.write('[store]\nbackend=sqlite\n')


class Tail:
    """The engine.status answers in the simulator's event log, as they come."""

    def __init__(self, path):
        self.path, self.pos, self.buf = path, 0, ''

    def answers(self):
        out = []
        try:
            with open(self.path) as f:
                f.seek(self.pos)
                self.buf += f.read()
                self.pos = f.tell()
        except OSError:
            return out
        *done, self.buf = self.buf.split('\n')
        for line in done:
            if '"engine.status"' not in line:
                continue
            e = json.loads(line)
            if e.get('ev') == 'message' and 'uptime=' in (e.get('retval') or ''):
                out.append(dict(re.findall(r'(\w+)=([^,;\s]*)', e['retval'])))
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('-n', type=int, default=2000, help='room create/destroy cycles (2000)')
    ap.add_argument('-c', '--callers', type=int, default=2, help='callers per room (2)')
    ap.add_argument('--rate', type=float, default=10, help='rooms created per second (10)')
    ap.add_argument('--hold', type=float, default=1.0, help='seconds a room lives (1)')
    ap.add_argument('--every', type=int, default=100, help='sample every K cycles (100)')
    ap.add_argument('--seconds', type=float, help='churn this long instead of -n (n = s x rate)')
    ap.add_argument('--settle', type=float, default=3.0,
                    help='seconds after a sample\'s last room before it is taken (3; CDRs '
                    'wait [monitor] cdr_delay, 2 s)')
    ap.add_argument('--idle', type=float, default=10.0,
                    help='after the churn, three samples this many seconds apart (10)')
    ap.add_argument('--no-store', action='store_true', help='no [store] section')
    ap.add_argument('--keep', action='store_true', help='keep the run folder')
    a = ap.parse_args()
    if a.seconds:
        a.n = int(a.seconds * a.rate)
    a.every = max(1, min(a.every, a.n))

    sim = os.environ.get('YATE_SIM') or os.path.join(e2e.BUILDDIR, 'tests/sim/yate-sim')
    engine = os.environ.get('CE_ENGINE') or os.path.join(e2e.BUILDDIR, 'conf-engine/conf-engine')
    for p in (sim, engine):
        if not os.access(p, os.X_OK):
            sys.exit('not built: %s (run from the build folder or set CE_BUILDDIR)' % p)
    d = tempfile.mkdtemp(prefix='bench-churn.')
    lines, end = scenario(a)
    with open(os.path.join(d, 'churn.scn'), 'w') as f:
        f.write('\n'.join(lines) + '\nend %.1f\n' % (end + 1))
    config(a, d)
    print('run folder %s: %d cycles, rooms of %d callers, %.2f rooms/s living %.1f s, '
          'store %s, a sample every %d cycles' %
          (d, a.n, a.callers, a.rate, a.hold, 'off' if a.no_store else 'sqlite', a.every),
          flush=True)
    ev = os.path.join(d, 'ev.jsonl')
    err = open(os.path.join(d, 'sim.err'), 'w')
    simp = subprocess.Popen([sim, '--ready-max', '5', '--max-time', str(int(end + 60)),
                             '-e', ev, os.path.join(d, 'churn.scn'),
                             '--', engine, '--config', os.path.join(d, 'engine.conf')],
                            stdout=err, stderr=err)
    epid = None
    deadline = time.time() + 15
    while epid is None and time.time() < deadline and simp.poll() is None:
        epid = e2e.child_engine(simp.pid)
        time.sleep(0.05)
    if epid is None:
        simp.kill()
        sys.exit('no conf-engine process under the simulator within 15 s; see %s'
                 % os.path.join(d, 'sim.err'))
    print('engine pid %d' % epid)
    print('  cycles     min   VmRSS KiB  fds  [heap] KiB  anon KiB  heap_used  heap_free  '
          'store_memory  rooms  legs  monitor_calls', flush=True)
    tail = Tail(ev)
    churn = a.n // a.every  # samples 1..churn are taken during the churn, 0 before it
    samples, k, t0 = [], 0, time.time()
    while k < churn + 4 and simp.poll() is None:
        got = tail.answers()
        if not got:
            time.sleep(0.1)
            continue
        for st in got:
            try:
                rss = proc_status_kib(epid, 'VmRSS')
                fds = open_fds(epid)
                heap, anon = smaps_kib(epid)
            except OSError:
                break
            cycles = min(k * a.every, a.n)
            used = int(st.get('heap_used', -1))
            # the heap but SQLite's page caches, which fill up to their bound as the file grows
            rest = used - int(st['store_memory']) if 'store_memory' in st else None
            if k <= churn:
                samples.append((cycles, time.time() - t0, rss, used, rest))
            print('  %6d  %6.1f  %9d  %4d  %9d  %8d  %9d  %9s  %12s  %5s  %4s  %13s%s' %
                  (cycles, (time.time() - t0) / 60, rss, fds, heap, anon, used,
                   st.get('heap_free', '-'), st.get('store_memory', '-'), st.get('rooms', '-'),
                   st.get('legs', '-'),
                   st.get('monitor_calls', '-'), '  idle' if k > churn else ''), flush=True)
            k += 1
    try:
        simp.wait(timeout=max(10, end + 70 - (time.time() - t0)))
    except subprocess.TimeoutExpired:
        simp.kill()
        simp.wait()
    err.close()
    print('simulator exit %d (0: every call went as Yate would have it)' % simp.returncode)
    if len(samples) >= 3:
        half = len(samples) // 2
        for name, col in (('VmRSS', 2), ('heap_used', 3), ('heap_used - store_memory', 4)):
            if any(x[col] is None for x in samples):
                continue
            by_cycle = [(x[0], x[col]) for x in samples[1:]]
            by_time = [(x[1], x[col]) for x in samples[1:]]
            print('%s %d KiB before the churn, %d after %d cycles; slope %+.1f KiB per 1,000 '
                  'cycles (%+.1f over the last half), %+.1f KiB per hour (%+.1f)' %
                  (name, samples[0][col], samples[-1][col], samples[-1][0],
                   1000 * e2e.slope(by_cycle), 1000 * e2e.slope(by_cycle[half:]),
                   e2e.slope_per_hour(by_time), e2e.slope_per_hour(by_time[half:])))
    if a.keep:
        print('kept %s' % d)
    else:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == '__main__':
    main()
