#!/usr/bin/env python3
"""bench-e2e.py - conf-engine end to end: RTP participants per core, loss, added latency, memory.

yate-sim (load mode: one batched socket, one loopback address per leg) places
N callers into conf/ rooms of ROOM participants, TALKERS of them playing
speech; one room in PROBE_EVERY is a probe room where a single phone plays
200 ms tone bursts and the others are silent. The simulator's probe
(tests/sim/probe.c, SIM_PROBE=FILE) counts the frames each leg receives in
the steady window and timestamps audio onsets: a burst leaving the probe
talker (after sendmmsg) and the mixed frame carrying it arriving at each
listener (kernel receive time).

    bench/bench-e2e.py [-n N] [-r ROOM] [-t TALKERS] [-s SECONDS] [--threads T]
    bench/bench-e2e.py --soak SECONDS ...   RSS per participant every minute + slope

Figures (run from the build folder, or set CE_BUILDDIR/CE_SRCDIR):
  cpu      the engine's user+sys seconds per second in the steady window
           (from /proc/PID/stat), and the simulator's, separately
  loss     per leg: frames expected in the window (SECONDS / 20 ms) minus
           frames received; sequence gaps (rx_lost); kernel UDP drops
  latency  probe burst sent -> mixed frame received: p50 / p99 / max
  jitter   the engine's status counters over the window: audio its legs'
           loss concealment made up, frames their jitter buffers waited
           for, late packets, room mixes put off for a late talker
  memory   the engine's VmRSS per participant (total, and above its idle RSS)
Nothing is asserted: it prints what it measured.
"""

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get('CE_SRCDIR') or os.path.dirname(HERE)
BUILDDIR = os.environ.get('CE_BUILDDIR') or os.getcwd()
TICK = os.sysconf('SC_CLK_TCK')
PAGE_KIB = os.sysconf('SC_PAGE_SIZE') // 1024
PROBE_FIRST = 900000
CHURN_FIRST = 500000
FIRST = 100000


def speech_files():
    files = [os.path.join(SRCDIR, 'tests/data/sim/speech.wav')]
    tdir = os.path.join(SRCDIR, 'tests/data/talker')
    if os.path.isdir(tdir):
        files += sorted(os.path.join(tdir, f) for f in os.listdir(tdir) if f.endswith('.wav'))
    return [f for f in files if os.path.exists(f)]


def make_burst(path):
    """200 ms of 1 kHz at half scale, 200 ms of silence (looped by the phone)."""
    subprocess.run(['sox', '-q', '-n', '-r', '8000', '-c', '1', '-b', '16', path,
                    'synth', '0.2', 'sine', '1000', 'vol', '0.5', 'pad', '0', '0.2'],
                   check=True)


def scenario(a, burst, speech):
    """The scenario lines, the probe rooms {room: (talker, [listeners])}, the silent
    listeners of the other rooms [(room, label)], the time the joins take."""
    lines = ['route ^8([0-9]+)$ conf/e2e$1 maxusers=%d' % max(a.room, 10)]
    rooms = (a.n + a.room - 1) // a.room
    probes, silent = {}, []
    label, plabel, t, left = FIRST, PROBE_FIRST, 0.0, a.n
    for r in range(rooms):
        size = min(a.room, left)
        left -= size
        if r % a.probe_every == 0:
            probes[r] = (plabel, list(range(plabel + 1, plabel + size)))
            lines.append('at %.3f calls 1 %d 8%d play=%s' % (t, plabel, r, burst))
            lines.append('at %.3f calls %d %d 8%d rate=%d' % (t + 0.01, size - 1, plabel + 1, r,
                                                             a.rate))
            plabel += size
        else:
            talkers = min(a.talkers, size)
            for k in range(talkers):
                lines.append('at %.3f calls 1 %d 8%d play=%s' %
                             (t + 0.005 * k, label + k, r, speech[(r + k) % len(speech)]))
            if size > talkers:
                lines.append('at %.3f calls %d %d 8%d rate=%d' %
                             (t + 0.01, size - talkers, label + talkers, r, a.rate))
                silent += [(r, x) for x in range(label + talkers, label + size)]
            label += size
        t += size / a.rate
    return lines, probes, silent, t


def churn(a, lines, silent, t0, t1):
    """Every 10 s of [t0, t1), a.churn silent listeners leave and new phones join their rooms.
    Returns the labels whose legs do not span the window."""
    gone, new, k = set(), CHURN_FIRST, 0
    t = t0 + 5
    while a.churn and silent and t < t1 - 5:
        for _ in range(a.churn):
            room, label = silent[k % len(silent)]
            silent[k % len(silent)] = (room, new)
            k += 1
            lines.append('at %.3f hangup %d' % (t, label))
            lines.append('at %.3f calls 1 %d 8%d' % (t + 0.5, new, room))
            gone |= {label, new}
            new += 1
        t += 10
    return gone


def proc_cpu(pid):
    """user + system seconds of a process (all its threads)."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def thread_cpu(pid):
    """{thread name: user + system seconds} of a process's threads (same names summed)."""
    out = {}
    for tid in os.listdir('/proc/%d/task' % pid):
        try:
            with open('/proc/%d/task/%s/stat' % (pid, tid)) as f:
                st = f.read()
        except OSError:
            continue
        name = st[st.index('(') + 1:st.rindex(')')]
        w = st.rsplit(')', 1)[1].split()
        out[name] = out.get(name, 0) + (int(w[11]) + int(w[12])) / TICK
    return out


def proc_rss_kib(pid):
    with open('/proc/%d/statm' % pid) as f:
        return int(f.read().split()[1]) * PAGE_KIB


def udp_errors():
    """(RcvbufErrors, SndbufErrors) of the whole machine."""
    with open('/proc/net/snmp') as f:
        rows = [l.split() for l in f if l.startswith('Udp:')]
    d = dict(zip(rows[0][1:], map(int, rows[1][1:])))
    return d.get('RcvbufErrors', 0), d.get('SndbufErrors', 0)


def proc_fds(pid):
    """How many file descriptors the process has open."""
    return len(os.listdir('/proc/%d/fd' % pid))


def socket_drops(pid):
    """Datagrams the kernel dropped on the process's UDP sockets (receive buffer full)."""
    inodes = set()
    for fd in os.listdir('/proc/%d/fd' % pid):
        try:
            link = os.readlink('/proc/%d/fd/%s' % (pid, fd))
        except OSError:
            continue
        if link.startswith('socket:['):
            inodes.add(link[8:-1])
    drops = 0
    with open('/proc/net/udp') as f:
        for line in list(f)[1:]:
            w = line.split()
            if w[9] in inodes:
                drops += int(w[12])
    return drops


def child_engine(simpid):
    """The conf-engine process under the simulator (a child, or deeper when wrapped)."""
    parents, names = {}, {}
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % pid) as f:
                st = f.read()
        except OSError:
            continue
        names[int(pid)] = st[st.index('(') + 1:st.rindex(')')]
        parents[int(pid)] = int(st.rsplit(')', 1)[1].split()[1])
    for pid, name in names.items():
        if not name.startswith('conf-engine'):
            continue
        p = pid
        while p in parents and p != simpid and p > 1:
            p = parents[p]
        if p == simpid:
            return pid
    return None


def pct(v, p):
    if not v:
        return float('nan')
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))]


def wait_until(t):
    while time.time() < t:
        time.sleep(min(0.2, t - time.time()))


def slope(pts):
    """Least-squares slope of (x, y) points."""
    if len(pts) < 2:
        return 0.0
    n = len(pts)
    mx = sum(p[0] for p in pts) / n
    my = sum(p[1] for p in pts) / n
    den = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / den if den else 0.0


def slope_per_hour(pts):
    """Least-squares slope of (seconds, value) points, per hour."""
    return 3600.0 * slope(pts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('-n', type=int, default=1000, help='participants (1000)')
    ap.add_argument('-r', '--room', type=int, default=20, help='participants per room (20)')
    ap.add_argument('-t', '--talkers', type=int, default=3, help='speech talkers per room (3)')
    ap.add_argument('-s', '--seconds', type=float, default=30, help='steady window (30)')
    ap.add_argument('--probe-every', type=int, default=10, help='one probe room in K (10)')
    ap.add_argument('--rate', type=int, default=400, help='joins per second (400)')
    ap.add_argument('--threads', type=int, default=1, help='engine media threads (1)')
    ap.add_argument('--jbuf-min', type=int, help='engine jbuf_min in ms (engine default)')
    ap.add_argument('--churn', type=int, default=0,
                    help='every 10 s this many silent listeners leave and as many new ones join')
    ap.add_argument('--settle', type=float, default=3, help='seconds after the joins (3)')
    ap.add_argument('--soak', type=float, default=0,
                    help='soak: steady for this many seconds, RSS printed every --every s')
    ap.add_argument('--every', type=float, default=60, help='soak sample period (60)')
    ap.add_argument('--keep', action='store_true', help='keep the run folder')
    ap.add_argument('--latency-out', metavar='FILE',
                    help='write every onset: probe room, listener, send time (s), added latency (ms)')
    ap.add_argument('--engine-cpu', type=int, help='pin every engine thread to this CPU')
    ap.add_argument('--sim-cpu', type=int, help='pin the simulator to this CPU')
    a = ap.parse_args()
    steady = a.soak or a.seconds

    sim = os.environ.get('YATE_SIM') or os.path.join(BUILDDIR, 'tests/sim/yate-sim')
    engine = os.environ.get('CE_ENGINE') or os.path.join(BUILDDIR, 'conf-engine/conf-engine')
    for p in (sim, engine):
        if not os.access(p, os.X_OK):
            sys.exit('not built: %s (run from the build folder or set CE_BUILDDIR)' % p)
    d = tempfile.mkdtemp(prefix='bench-e2e.')
    burst = os.path.join(d, 'burst.wav')
    make_burst(burst)
    lines, probes, silent, joins = scenario(a, burst, speech_files())
    t0 = joins + a.settle
    t1 = t0 + steady
    end = t1 + 1
    gone = churn(a, lines, silent, t0, t1)
    # the engine's media counters at the window's edges
    lines += ['at %.3f message engine.status module=conf-engine' % t for t in (t0, t1)]
    with open(os.path.join(d, 'e2e.scn'), 'w') as f:
        f.write('\n'.join(lines) + '\nat %.1f log done\nend %.1f\n' % (t1, end))
    with open(os.path.join(d, 'engine.conf'), 'w') as f:
        f.write('[general]\n[log]\n[conference]\nmedia_threads=%d\n' % a.threads)
        if a.jbuf_min is not None:
            f.write('jbuf_min=%d\n' % a.jbuf_min)
    probe = os.path.join(d, 'probe.txt')
    env = dict(os.environ, SIM_PROBE=probe, SIM_PROBE_WINDOW='%f %f' % (t0, t1),
               SIM_PROBE_MIN=str(PROBE_FIRST))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print('run folder %s: %d participants, rooms of %d, %d talkers, %d probe rooms, '
          '%d media thread(s), joins %.1f s, steady %.0f s' %
          (d, a.n, a.room, a.talkers, len(probes), a.threads, joins, steady), flush=True)
    err = open(os.path.join(d, 'sim.err'), 'w')
    pin_sim = (lambda: os.sched_setaffinity(0, {a.sim_cpu})) if a.sim_cpu is not None else None
    simp = subprocess.Popen([sim, '--rtp-shared', '--ready-max', '5',
                             '--max-time', str(int(end + 60)),  '-e', os.path.join(d, 'ev.jsonl'), os.path.join(d, 'e2e.scn'),
                             '--', engine, '--config', os.path.join(d, 'engine.conf')],
                            env=env, stdout=err, stderr=err, preexec_fn=pin_sim)
    epid = None
    deadline = time.time() + 15
    while time.time() < deadline and (epid is None or not os.path.exists(probe)):
        epid = epid or child_engine(simp.pid)
        time.sleep(0.05)
    if epid is None or not os.path.exists(probe):
        simp.kill()
        if epid is None:
            # the engine's threads and CPU are found by its process name
            sys.exit('no process named conf-engine* under the simulator within 15 s: the '
                     'engine did not start, or %s is not named conf-engine*; see %s' %
                     (engine, os.path.join(d, 'sim.err')))
        sys.exit('the engine started but no leg reached the simulator\'s probe within 15 s; '
                 'see %s' % os.path.join(d, 'sim.err'))
    start = None  # the probe's clock starts with the first leg: its "S" line
    while start is None and time.time() < deadline + 5:
        with open(probe) as f:
            first = f.readline().split()
        if len(first) == 2 and first[0] == 'S':
            start = float(first[1])
        else:
            time.sleep(0.05)
    if start is None:
        simp.kill()
        sys.exit('no start line in %s' % probe)
    if a.engine_cpu is not None:
        # the engine was started by the simulator and inherited its CPU: move
        # every thread it has (the media threads start with its modules)
        for tid in os.listdir('/proc/%d/task' % epid):
            os.sched_setaffinity(int(tid), {a.engine_cpu})
        print('engine threads pinned to CPU %d, simulator to %s' %
              (a.engine_cpu, a.sim_cpu if a.sim_cpu is not None else 'any'), flush=True)
    rss_idle = proc_rss_kib(epid)
    wait_until(start + t0)
    c0 = (time.time(), proc_cpu(epid), proc_cpu(simp.pid), udp_errors(), socket_drops(epid),
          socket_drops(simp.pid), thread_cpu(epid))
    rss0 = proc_rss_kib(epid)
    fds0 = proc_fds(epid)
    samples = [(0.0, rss0)]
    if a.soak:
        print('  minute   RSS KiB   KiB/participant   slope KiB/participant/hour: all, last half'
              '   open fds', flush=True)
        k = 1
        while time.time() + a.every <= start + t1 + 0.5:
            wait_until(start + t0 + k * a.every)
            rss = proc_rss_kib(epid)
            samples.append((k * a.every, rss))
            fds = proc_fds(epid)
            print('  %6.1f  %8d   %8.2f          %+.3f  %+.3f          %6d' %
                  (k * a.every / 60, rss, rss / a.n, slope_per_hour(samples) / a.n,
                   slope_per_hour(samples[len(samples) // 2:]) / a.n, fds), flush=True)
            k += 1
    wait_until(start + t1)
    c1 = (time.time(), proc_cpu(epid), proc_cpu(simp.pid), udp_errors(), socket_drops(epid),
          socket_drops(simp.pid), thread_cpu(epid))
    rss1 = proc_rss_kib(epid)
    fds1 = proc_fds(epid)
    try:
        simp.wait(timeout=end + 90 - (time.time() - start))
    except subprocess.TimeoutExpired:
        simp.kill()
        simp.wait()
    err.close()
    report(a, d, probes, gone, steady, rss_idle, rss0, rss1, samples, c0, c1, simp.returncode,
           (fds0, fds1))
    if a.keep:
        print('kept %s' % d)
    else:
        shutil.rmtree(d, ignore_errors=True)


def media_counters(ev, n, steady):
    """The engine's jitter-buffer counters over the window, from the two
    'status conf-engine' answers the scenario asked for at its edges."""
    st = [dict((k, int(v)) for k, v in re.findall(r'(\w+)=(\d+)', e.get('retval') or ''))
          for e in ev if e['ev'] == 'message' and e.get('name') == 'engine.status'
          and 'rtp_concealed_ms' in (e.get('retval') or '')]
    if len(st) < 2:
        print('engine media counters: no status answer (an engine without them?)')
        return
    d = {k: st[-1][k] - st[0].get(k, 0) for k in st[-1]}
    print('engine jitter buffers in the window: %.1f s of %.0f s of audio made up (%.4f%%), '
          '%d frames waited for, %d packets late, %d room mixes put off for a late talker' %
          (d.get('rtp_concealed_ms', 0) / 1000, n * steady,
           100.0 * d.get('rtp_concealed_ms', 0) / 1000 / (n * steady), d.get('jbuf_waits', 0),
           d.get('rtp_late', 0), d.get('mix_deferred', 0)))


def report(a, d, probes, gone, steady, rss_idle, rss0, rss1, samples, c0, c1, code, fds):
    wall = c1[0] - c0[0]
    ecpu = (c1[1] - c0[1]) / wall
    scpu = (c1[2] - c0[2]) / wall
    legs = {}
    onsets_t, onsets_r = {}, {}
    for line in open(os.path.join(d, 'probe.txt')):
        w = line.split()
        if w[0] == 'L':
            legs[w[1]] = (int(w[2]), int(w[3]))
        elif w[0] == 'T':
            onsets_t.setdefault(int(w[1]), []).append(float(w[2]))
        elif w[0] == 'R':
            onsets_r.setdefault(int(w[1]), []).append(float(w[2]))
    ev = [json.loads(l) for l in open(os.path.join(d, 'ev.jsonl'))]
    stats = [e for e in ev if e['ev'] == 'rtp-stats']
    endev = [e for e in ev if e['ev'] == 'end']
    expected = int(round(steady / 0.020))
    # a window edge may fall either side of one packet
    legs = {w: v for w, v in legs.items() if int(w) not in gone}
    short = {w: expected - 1 - v[1] for w, v in legs.items() if v[1] < expected - 1}
    missing = sum(short.values())
    print('result (sim exit %d): %d legs through the window, %d rtp-stats, %d churned' %
          (code, len(legs), len(stats), len(gone) // 2))
    print('cpu: engine %.3f s/s (%.1f%% of one core) -> %.0f participants per core; '
          'simulator %.3f s/s; loadavg %s' %
          (ecpu, 100 * ecpu, a.n / ecpu if ecpu else float('inf'), scpu,
           open('/proc/loadavg').read().split()[0]))
    print('engine threads (s/s): ' + ', '.join(
        '%s %.3f' % (k, (v - c0[6].get(k, 0)) / wall) for k, v in sorted(c1[6].items())))
    print('loss: %d frames expected per leg in %.0f s; %d legs short, %d frames missing '
          '(%.4f%%); sequence gaps %d; tx by sim %d; kernel UDP RcvbufErrors +%d '
          'SndbufErrors +%d (drops on the engine\'s sockets +%d, on the simulator\'s +%d)' %
          (expected, steady, len(short), missing, 100.0 * missing / max(1, expected * len(legs)),
           sum(e['rx_lost'] for e in stats), sum(e['tx'] for e in stats),
           c1[3][0] - c0[3][0], c1[3][1] - c0[3][1], c1[4] - c0[4], c1[5] - c0[5]))
    if endev:
        e = endev[0]
        print('sim clock: %s ticks, %s late, %s skipped' %
              (e.get('ticks'), e.get('late_ticks'), e.get('lost_ticks')))
    media_counters(ev, a.n, steady)
    lat, miss, rows = [], 0, []
    for room, (talker, listeners) in sorted(probes.items()):
        for ts in onsets_t.get(talker, []):
            if ts < c0[0] or ts > c1[0] - 0.3:
                continue
            for li in listeners:
                # ts is taken when sendmmsg returns for the whole batch, so a
                # frame mixed at once can be received a fraction of a ms before it
                got = [t for t in onsets_r.get(li, []) if ts - 0.005 <= t < ts + 0.3]
                if got:
                    lat.append(1000 * (min(got) - ts))
                    rows.append('%d %d %.6f %.2f\n' % (room, li, ts - c0[0], lat[-1]))
                else:
                    miss += 1
    print('latency (burst sent -> mixed frame received, %d onsets, %d not seen within 300 ms): '
          'p50 %.1f ms, p99 %.1f ms, max %.1f ms' %
          (len(lat), miss, pct(lat, 50), pct(lat, 99), max(lat) if lat else float('nan')))
    if a.latency_out:
        with open(a.latency_out, 'w') as f:
            f.write('# probe-room listener send-s latency-ms\n')
            f.writelines(rows)
    print('memory: engine VmRSS idle %d KiB, after joins %d KiB, at the end %d KiB: '
          '%.2f KiB per participant (%.2f above idle), growth %+.3f KiB per participant '
          'over the window' %
          (rss_idle, rss0, rss1, rss1 / a.n, (rss1 - rss_idle) / a.n, (rss1 - rss0) / a.n))
    if a.soak:
        print('open fds: %d after joins, %d at the end' % fds)
    if len(samples) > 2:
        pts = samples + [(c1[0] - c0[0], rss1)]
        print('soak slope: %+.4f KiB per participant per hour over %d samples, %+.4f over the '
              'last half' % (slope_per_hour(pts) / a.n, len(pts),
                             slope_per_hour(pts[len(pts) // 2:]) / a.n))


if __name__ == '__main__':
    main()
