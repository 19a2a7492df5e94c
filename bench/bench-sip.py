#!/usr/bin/env python3
"""bench-sip.py - the same SIP calls into Yate's conference, conf-engine relayed, bypassed.

One run places N G.711 SIP calls (SIPp, bench/bench-sip-uac.xml) into a real Yate 6.4.1
($CE_YATE_PREFIX, started by tests/yate/yatelib.py) in rooms of --room callers, for each mode
in turn, interleaved (a, b, c, a, b, c, ... for --rounds):

  a  Yate's own conference module: regexroute sends 77K to conf/benchK, no conf-engine;
  b  conf-engine relayed: the same route, conf-engine attached as extmodule takes conf/
     (Yate terminates each phone's RTP and relays it to the engine);
  c  conf-engine bypassed: the same route with ;rtp_forward=yes, so that the phone's RTP can
     go straight to the engine.  Whether it did is read from Yate's `status yrtp`
     (chans=N: Yate relays, 0: bypassed); a run where Yate still relayed says so.

Each call's media is a phone of this script (one process, one UDP socket per call on the
port the call's SDP offered, symmetric RTP): a third of the callers talk (looped speech,
tests/data/sim/speech.wav), the others send G.711 silence (--quiet silence) or nothing
(--quiet none; the engine's rtp_timeout is then off); probe rooms (below) have one talker.
SIPp 3.6.1's own RTP cannot be used: rtp_stream sends all calls from one socket (one
address, so a bypassing engine cannot tell the calls apart) and play_pcap_audio sends from
a raw socket per call, each of which gets a copy of every UDP packet on the host (the
receivers would pay for it).

Once all N calls are answered and --settle seconds passed, a window of --seconds measures:
  cpu      user+sys seconds per second (/proc/PID/stat) of Yate and of conf-engine, their
           sum per participant, and participants per core = N / (Yate + engine); SIPp's and
           the phones' own CPU are printed apart and never counted
  frames   what the phones received in the window: milliseconds of audio per phone per
           second (1000 when nothing is missing) and packets per second, phones that got
           less audio than the window lasted, sequence gaps, the host's UDP drops
  engine   conf-engine's status counters over the window (audio its concealment made up,
           late packets, overruns, packets from unknown addresses)
  calls    SIPp's successful and failed calls; a run with a failed call says so loudly
  latency  in one room in --probe-every (10), the first caller plays 200 ms tone bursts
           (bench-e2e's probe) and the others listen: burst sent (after send() returns)
           -> the kernel's receive time of the first mixed frame carrying it, at each
           listener: p50 / p99 / max
Then the table per N: each mode's participants per core (median, min, max over rounds) and
the ratios (c)/(a) and (b)/(a) of the runs of each round, and the latency per N and mode.
Nothing is asserted.

    bench/bench-sip.py [--n 100,250,500,1000] [--rounds 3] [--seconds 20] [--room 10]
                       [--rate 50] [--modes abc] [--probe-every 10] [--quiet silence|none]
Run from the build folder (or set CE_BUILDDIR/CE_SRCDIR); needs sipp and sox on PATH.
"""

import argparse
import importlib.util
import multiprocessing
import os
import re
import resource
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault('CE_SRCDIR', os.path.dirname(HERE))
os.environ.setdefault('CE_BUILDDIR', os.getcwd())
sys.path.insert(0, os.path.join(os.environ['CE_SRCDIR'], 'tests', 'yate'))
import siplib  # noqa: E402  (G.711 tables)
import yatelib  # noqa: E402  (a real Yate with conf-engine attached as Yate attaches it)

_spec = importlib.util.spec_from_file_location('bench_e2e', os.path.join(HERE, 'bench-e2e.py'))
e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e)  # proc_cpu, pct, udp_errors: the same figures as bench-e2e

SCENARIO = os.path.join(HERE, 'bench-sip-uac.xml')
ENGINE_CONF = '[conference]\nenter_prompt=\nleave_prompt=\nlonely_prompt=\n'
FRAME = 160            # G.711 bytes in 20 ms
SILENCE = b'\xff' * FRAME
SO_TIMESTAMPNS = 35   # Linux: the kernel's receive time of a datagram (Python has no name for it)
RTP = struct.Struct('!BBHII')  # version 2, PT 0 (PCMU), sequence, timestamp, SSRC
PORT_STEP = 4          # SIPp's [auto_media_port] moves 4 ports a call (the SDP adds 4)
MODES = {'a': "Yate's conference", 'b': 'conf-engine relayed', 'c': 'conf-engine bypassed'}
FLOOR = 'kernel floor (bench-udp)'
BENCH_UDP = os.path.join(os.path.dirname(os.path.dirname(yatelib.ENGINE)), 'bench', 'bench-udp')


def run_floor(a, n, rnd):
    """Mode f: bench-udp's echo server for N phones waiting in epoll as ours do, over the same
    window: the CPU that the datagrams of (c) cost the kernel alone on this host."""
    r = {'mode': 'f', 'n': n, 'round': rnd, 'notes': []}
    out = subprocess.run([BENCH_UDP, '-n', str(n), '-t', str(max(1, round(a.seconds))), '-e'],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r'server ([0-9.]+) s/s.*received ([0-9.]+)%.*sent ([0-9.]+)%.*phones ([0-9.]+)',
                  out)
    if not m:
        raise RuntimeError('bench-udp said: ' + out)
    r['engine'], r['yate'] = float(m.group(1)), 0.0
    r['ppc'] = n / r['engine'] if r['engine'] > 0 else float('inf')
    r['phones'] = float(m.group(4))
    if float(m.group(2)) < 99.0 or float(m.group(3)) < 99.0:
        r['notes'].append('the floor\'s server was short: %s' % out.strip())
    r['load'] = open('/proc/loadavg').read().split()[0]
    return r


def phone_audio():
    """(speech, burst) as raw G.711 mu-law bytes (sox): tests/data/sim/speech.wav, and
    200 ms of 1 kHz at half scale then 200 ms of silence (bench-e2e's probe burst)."""
    d = tempfile.mkdtemp(prefix='bench-sip.')
    try:
        speech = os.path.join(os.environ['CE_SRCDIR'], 'tests/data/sim/speech.wav')
        subprocess.run(['sox', '-q', speech, '-t', 'ul', '-r', '8000', '-c', '1',
                        os.path.join(d, 'speech.ul')], check=True)
        subprocess.run(['sox', '-q', '-n', '-t', 'ul', '-r', '8000', '-c', '1',
                        os.path.join(d, 'burst.ul'), 'synth', '0.2', 'sine', '1000', 'vol',
                        '0.5', 'pad', '0', '0.2'], check=True)
        out = []
        for name in ('speech.ul', 'burst.ul'):
            with open(os.path.join(d, name), 'rb') as f:
                out.append(f.read())
        return tuple(out)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def bind_phones(n):
    """N UDP sockets on 127.0.0.1 at BASE + 4 * k (k = 1..N, the ports SIPp's SDP offers for
    call k) and BASE, BASE + 2 free (SIPp binds its own media sockets there): (BASE, sockets)."""
    for _ in range(50):
        base = 20000 + 4 * (int.from_bytes(os.urandom(2), 'little') % ((40000 - 4 * n) // 4))
        socks = []
        try:
            for p in (base, base + 2):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(('127.0.0.1', p))
                s.close()
            for k in range(1, n + 1):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(('127.0.0.1', base + PORT_STEP * k))
                s.setblocking(False)
            return base, socks
        except OSError:
            for s in socks:
                s.close()
    sys.exit('no free range of %d UDP ports for the phones' % (PORT_STEP * n))


class Phones:
    """The calls' RTP ends: a process that sends each answered call's frames every 20 ms from
    its socket to the address of the answer's SDP (read from SIPp's log) and counts what each
    call receives.  In a probe room (one room in --probe-every) the first caller plays tone
    bursts and the others listen for their onsets (the added latency)."""

    def __init__(self, a, socks, log, audio):
        self.conn, child = multiprocessing.Pipe()
        self.proc = multiprocessing.Process(target=phones_main,
                                            args=(child, a, socks, log, audio), daemon=True)
        self.proc.start()
        child.close()

    def snapshot(self):
        """{rx, gaps: per call; up: answered calls; late: ticks; lat: [ms]; missed: onsets}."""
        self.conn.send('mark')
        if not self.conn.poll(yatelib.WAIT):
            return None
        return self.conn.recv()

    def stop(self):
        if self.proc.is_alive():
            try:
                self.conn.send('stop')
            except OSError:
                pass
            self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


def roles(a, n):
    """What each call does: 'talk' (speech), 'quiet', 'burst' (a probe room's talker) or
    'probe' (a probe room's listener, or its quiet caller)."""
    out = []
    for k in range(n):
        room, seat = divmod(k, a.room)
        if a.probe_every and room % a.probe_every == 0:
            out.append('burst' if seat == 0 else 'probe')
        else:
            out.append('talk' if k % 3 == 0 else 'quiet')
    return out


class Onsets:
    """A probe listener's ear: the kernel's receive time of the first loud frame (peak above
    4000) after 100 ms below 500, as bench-e2e's probe listens."""
    MAG = [abs(v) for v in siplib.DECODE_TABLE[0]]  # |linear| of each mu-law byte

    def __init__(self):
        self.quiet_ms = 0

    def frame(self, payload):
        """True when this frame is an onset."""
        peak = max(map(self.MAG.__getitem__, payload)) if payload else 0
        if peak > 4000:
            onset = self.quiet_ms >= 100
            self.quiet_ms = 0
            return onset
        if peak < 500:
            self.quiet_ms += 20
        return False


def kernel_time(anc):
    """The SO_TIMESTAMPNS stamp of a datagram (seconds, CLOCK_REALTIME), or now."""
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            sec, nsec = struct.unpack('@qq', data[:16])
            return sec + nsec / 1e9
    return time.time()


def phones_main(conn, a, socks, log, audio):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    n = len(socks)
    role = roles(a, n)
    talk, burst = audio
    ears = {k: Onsets() for k in range(n) if role[k] == 'probe'}
    for k in ears:
        socks[k].setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sent_onsets = {}  # probe room -> send times of its talker's bursts
    fd_call = {s.fileno(): k for k, s in enumerate(socks)}
    ep = select.epoll()
    for fd in fd_call:
        ep.register(fd, select.EPOLLIN)
    ep.register(conn.fileno(), select.EPOLLIN)
    live = [False] * n
    rx = [0] * n
    audio_rx = [0] * n  # payload bytes: G.711 carries 8 a millisecond
    gaps = [0] * n
    last_seq = [None] * n
    seq = [0] * n
    st = {'up': 0, 'late': 0, 'lat': [], 'missed': 0}
    logf = None
    pending = ''
    next_tick = time.monotonic()
    tick = 0
    while True:
        for fd, _ in ep.poll(max(0.0, next_tick - time.monotonic())):
            if fd == conn.fileno():
                if conn.recv() == 'stop':
                    return
                conn.send(dict(st, rx=list(rx), audio=list(audio_rx), gaps=list(gaps),
                               lat=list(st['lat'])))
                continue
            # one datagram per event: epoll reports the socket again while more are queued
            k = fd_call[fd]
            try:
                if k in ears:
                    pkt, anc, _, _ = socks[k].recvmsg(2048, 64)
                else:
                    pkt = socks[k].recv(2048)
            except OSError:
                continue
            if len(pkt) < 12:
                continue
            rx[k] += 1
            audio_rx[k] += len(pkt) - 12
            q = (pkt[2] << 8) | pkt[3]
            if last_seq[k] is not None:
                d = (q - last_seq[k]) & 0xffff
                if 1 < d < 0x8000:
                    gaps[k] += d - 1
            last_seq[k] = q
            if k in ears and ears[k].frame(pkt[12:]):
                t = kernel_time(anc)
                # the burst whose onset this is: sent at most 300 ms before (the send time is
                # taken after send() returns, so the frame may be received just before it)
                sent = [x for x in sent_onsets.get(k // a.room, ()) if t - 0.3 < x < t + 0.005]
                if sent:
                    st['lat'].append(1000 * (t - sent[-1]))
                else:
                    st['missed'] += 1
        now = time.monotonic()
        if now < next_tick:
            continue
        if logf is None and os.path.exists(log):
            logf = open(log)
        if logf:
            pending += logf.read()
            lines = pending.split('\n')
            pending = lines.pop()
            for line in lines:
                w = line.split()
                if len(w) >= 4 and w[-4] == 'up' and 0 < int(w[-3]) <= n:
                    k = int(w[-3]) - 1
                    try:  # the answer's address: send() from here on, and hear only it
                        socks[k].connect((w[-2], int(w[-1])))
                        live[k] = True
                        st['up'] += 1
                    except OSError:
                        pass
                elif len(w) >= 2 and w[-2] == 'bye' and 0 < int(w[-1]) <= n:
                    live[int(w[-1]) - 1] = False
        for k in range(n):
            if not live[k]:
                continue
            if role[k] == 'talk':
                off = (tick * FRAME + k * 7919 * FRAME) % (len(talk) - FRAME)
                payload = talk[off:off + FRAME]
            elif role[k] == 'burst':
                off = seq[k] * FRAME % len(burst)
                payload = burst[off:off + FRAME]
            elif a.quiet == 'silence':
                payload = SILENCE
            else:
                continue
            hdr = RTP.pack(0x80, 0, seq[k] & 0xffff, (seq[k] * FRAME) & 0xffffffff,
                           0x5eed0000 + k)
            try:
                socks[k].send(hdr + payload)
            except OSError:
                pass
            if role[k] == 'burst' and off == 0:
                onsets = sent_onsets.setdefault(k // a.room, [])
                onsets.append(time.time())
                del onsets[:-4]
            seq[k] += 1
        tick += 1
        next_tick += 0.020
        if now - next_tick > 0.1:  # the machine held us: skip rather than burst
            st['late'] += 1
            next_tick = now


def yrtp_chans(yt):
    """Yate's RTP sessions now (`status yrtp`'s chans=), or None."""
    m = re.search(r'name=yrtp[^\r\n]*?chans=(\d+)', yt.rm('status yrtp', until=r'chans=\d+',
                                                          timeout=5))
    return int(m.group(1)) if m else None


def engine_counters(yt):
    return {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', yt.engine_status())}


def sipp_stats(path):
    """The last line of SIPp's statistics file as {column: value}."""
    try:
        with open(path) as f:
            rows = [l.rstrip('\n;').split(';') for l in f if l.strip()]
    except OSError:
        return {}
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0], rows[-1]))


def run(a, mode, n, rnd, prefix, audio):
    """One run: N calls in MODE; a dict of figures.  Whatever it starts it stops, also when
    interrupted (Yate and conf-engine by yatelib, SIPp's process group, the phones)."""
    route = r'^77\(.*\)$=conf/bench\1;lonely=true' + (';rtp_forward=yes' if mode == 'c' else '')
    engine = mode != 'a'
    r = {'mode': mode, 'n': n, 'round': rnd, 'notes': []}
    # phones that send nothing would be dropped as `nomedia` after the engine's rtp_timeout
    conf = ENGINE_CONF + ('rtp_timeout=0\n' if a.quiet == 'none' else '')
    yt = yatelib.Yate(prefix, 'bench-sip-%s-%d-%d' % (mode, n, rnd), engine='--config {conf}',
                      start_engine=engine, engine_conf=conf, routes=[route])
    try:  # not `with`: a Ctrl-C while Yate starts must stop it too
        yt.start()
        if engine and not yt.wait_engine():
            raise RuntimeError('conf-engine did not attach to Yate:\n' + yt.log_tail())
        base, socks = bind_phones(n)
        log = yt.path('sipp-log.txt')
        phones = Phones(a, socks, log, audio)
        for s in socks:
            s.close()  # the phones' process has them
        sipp = None
        try:
            sipp = start_sipp(a, yt, n, base, log)
            measure(a, yt, r, sipp, phones, engine)
        finally:
            phones.stop()
            if sipp and sipp.poll() is None:
                os.killpg(sipp.pid, signal.SIGKILL)
                sipp.wait()
        if r['notes']:
            yt.failed = True  # keep its folder (tests/yate/logs/NAME)
    except BaseException:
        yt.failed = True
        raise
    finally:
        yt.stop()
    return r


def up_seconds(a, n):
    """How long the calls may take to be answered: their rate's time and a margin."""
    return 1.5 * n / a.rate + 5


def hold_seconds(a, n):
    """How long each call lasts: the window ends before the first call hangs up."""
    return up_seconds(a, n) + a.settle + a.seconds + 3


def start_sipp(a, yt, n, base, log):
    with open(yt.path('calls.csv'), 'w') as f:
        f.write('SEQUENTIAL\n' + ''.join('77%d;\n' % (k // a.room) for k in range(n)))
    shutil.copy(SCENARIO, yt.path('uac.xml'))
    hold = hold_seconds(a, n)
    with open(yt.path('sipp-stderr.txt'), 'w') as err:
        return subprocess.Popen(
            ['sipp', '127.0.0.1:%d' % yt.sip_port, '-sf', yt.path('uac.xml'),
             '-inf', yt.path('calls.csv'), '-m', str(n), '-l', str(n), '-r', str(a.rate),
             '-i', '127.0.0.1', '-p', str(yatelib.free_port(socket.SOCK_DGRAM)),
             '-mi', '127.0.0.1', '-mp', str(base), '-d', str(int(hold * 1000)), '-nostdin',
             '-trace_logs', '-log_file', log, '-trace_stat', '-stf', yt.path('sipp-stat.csv'),
             '-fd', '1', '-trace_err', '-error_file', yt.path('sipp-errors.txt'),
             '-timeout', '%ds' % int(2 * hold + 60), '-timeout_error'],
            stdout=subprocess.DEVNULL, stderr=err, cwd=yt.dir, start_new_session=True)


def cpu(yt, epid, sipp, phones):
    """(time, CPU seconds of Yate, the engine, SIPp, the phones, the kernel's UDP drops)."""
    return (time.monotonic(), e2e.proc_cpu(yt.proc.pid), e2e.proc_cpu(epid) if epid else 0,
            e2e.proc_cpu(sipp.pid), e2e.proc_cpu(phones.proc.pid), e2e.udp_errors())


def measure(a, yt, r, sipp, phones, engine):
    n = r['n']
    epid = None
    if engine:
        pids = yt.engine_pids()
        if not pids:
            raise RuntimeError('conf-engine is not running under Yate:\n' + yt.log_tail())
        epid = pids[0]
    t_start = time.monotonic()
    snap = None
    while time.monotonic() < t_start + up_seconds(a, n) and sipp.poll() is None:
        snap = phones.snapshot()
        if snap and snap['up'] >= n:
            break
        time.sleep(0.5)
    r['up'] = snap['up'] if snap else 0
    r['up_s'] = time.monotonic() - t_start
    if sipp.poll() is not None:
        raise RuntimeError('SIPp exited %s before its calls were up; its stderr:\n%s' %
                           (sipp.returncode, open(yt.path('sipp-stderr.txt')).read()[-3000:]))
    if r['up'] < n:
        r['notes'].append('ONLY %d OF %d CALLS ANSWERED within %.0f s' % (r['up'], n, r['up_s']))
    time.sleep(a.settle)
    c0 = cpu(yt, epid, sipp, phones)
    s0 = phones.snapshot()
    ec0 = engine_counters(yt) if engine else {}
    r['yrtp'] = [yrtp_chans(yt)]
    time.sleep(a.seconds / 2)
    r['yrtp'].append(yrtp_chans(yt))
    time.sleep(max(0.0, c0[0] + a.seconds - time.monotonic()))
    c1 = cpu(yt, epid, sipp, phones)
    s1 = phones.snapshot()
    ec1 = engine_counters(yt) if engine else {}
    wall = c1[0] - c0[0]
    r['yate'], r['engine'], r['sipp'], r['phones'] = ((c1[i] - c0[i]) / wall for i in (1, 2, 3, 4))
    r['ppc'] = n / (r['yate'] + r['engine']) if r['yate'] + r['engine'] > 0 else float('inf')
    r['engine_delta'] = {k: v - ec0.get(k, 0) for k, v in ec1.items()}
    r['load'] = open('/proc/loadavg').read().split()[0]
    r['udp_drops'] = [b - x for x, b in zip(c0[5], c1[5])]
    if s0 and s1:
        rx = [b - x for x, b in zip(s0['rx'], s1['rx'])]
        ms = [(b - x) / 8 for x, b in zip(s0['audio'], s1['audio'])]
        r['rx_per_s'] = sum(rx) / len(rx) / wall
        r['audio_per_s'] = sum(ms) / len(ms) / wall
        # a window's edge may fall either side of a frame
        r['window_ms'] = 1000 * wall
        r['short'] = sum(1 for v in ms if v < 1000 * wall - 40)
        r['silent'] = sum(1 for v in rx if v == 0)
        r['gaps'] = sum(s1['gaps']) - sum(s0['gaps'])
        r['late_ticks'] = s1['late'] - s0['late']
        r['lat'] = s1['lat'][len(s0['lat']):]
        r['missed'] = s1['missed'] - s0['missed']
    hold = hold_seconds(a, n)
    try:
        sipp.wait(timeout=hold + n / a.rate + 60)
    except subprocess.TimeoutExpired:
        r['notes'].append('SIPp did not end its calls in time: killed')
    st = sipp_stats(yt.path('sipp-stat.csv'))
    r['ok_calls'] = int(st.get('SuccessfulCall(C)', 0) or 0)
    r['failed'] = int(st.get('FailedCall(C)', 0) or 0)
    r['sipp_exit'] = sipp.returncode
    if r['failed'] or sipp.returncode != 0:
        r['notes'].append('CALLS FAILED: SIPp says %d failed, %d successful, exit %s'
                          % (r['failed'], r['ok_calls'], sipp.returncode))
    if r['mode'] == 'c' and r['yrtp'][0]:
        r['notes'].append('NOT BYPASSED: Yate relayed %s RTP sessions (status yrtp): this '
                          'engine did not take the phones\' RTP, so (c) measured relaying'
                          % r['yrtp'][0])


def print_run(r):
    if r['mode'] == 'f':
        print('f N=%d round %d: the kernel\'s floor %.3f s/s (%.3f ms CPU per participant-second):'
              ' bench-udp echoing one datagram per phone per 20 ms; phones %.3f s/s (not counted);'
              ' loadavg %s' % (r['n'], r['round'], r['engine'], 1000 * r['engine'] / r['n'],
                               r['phones'], r['load']))
        for note in r['notes']:
            print('   !!! ' + note)
        sys.stdout.flush()
        return
    ed = r.get('engine_delta') or {}
    line = ('%s N=%d round %d: Yate %.3f + engine %.3f s/s -> %.0f participants per core '
            '(%.3f ms CPU per participant-second); SIPp %.3f, phones %.3f s/s (not counted); '
            'yrtp sessions %s; loadavg %s' %
            (r['mode'], r['n'], r['round'], r['yate'], r['engine'], r['ppc'],
             1000 * (r['yate'] + r['engine']) / r['n'], r['sipp'], r['phones'],
             '/'.join(str(c) for c in r['yrtp']), r['load']))
    print(line)
    if 'rx_per_s' in r:
        print('   phones received %.1f ms of audio a second each (1000: nothing missing), in %.2f '
              'packets a second; %d of %d got less than %.0f ms of the %.0f ms window, %d got '
              'nothing; sequence gaps %d; phone ticks late %d; the kernel\'s UDP drops (the whole '
              'host) receive %d, send %d' %
              (r['audio_per_s'], r['rx_per_s'], r['short'], r['n'], r['window_ms'] - 40,
               r['window_ms'], r['silent'], r['gaps'], r['late_ticks'], r['udp_drops'][0],
               r['udp_drops'][1]))
        lat = r['lat']
        print('   latency (a probe talker\'s burst sent -> the mixed frame carrying it received by '
              'each listener of its room; %d onsets, %d with no burst sent in the 300 ms before): '
              'p50 %.1f ms, p99 %.1f ms, max %.1f ms' %
              (len(lat), r['missed'], e2e.pct(lat, 50), e2e.pct(lat, 99),
               max(lat) if lat else float('nan')))
    if ed:
        print('   engine in the window: %.1f s of audio made up (%.3f%% of participants x '
              'seconds), %d packets late, %d jitter-buffer waits, %d overruns, %d from unknown '
              'addresses' %
              (ed.get('rtp_concealed_ms', 0) / 1000,
               100.0 * ed.get('rtp_concealed_ms', 0) / r['n'] / r['window_ms'],
               ed.get('rtp_late', 0), ed.get('jbuf_waits', 0), ed.get('media_overruns', 0),
               ed.get('rtp_unknown', 0)))
    print('   calls: %d answered in %.1f s; SIPp %d successful, %d failed (exit %s)' %
          (r['up'], r['up_s'], r['ok_calls'], r['failed'], r['sipp_exit']))
    for note in r['notes']:
        print('   !!! ' + note)
    sys.stdout.flush()


def spread(v):
    return '%.0f (%.0f-%.0f)' % (e2e.pct(v, 50), min(v), max(v)) if v else '-'


def spread_ratio(v):
    return '%.2f (%.2f-%.2f)' % (e2e.pct(v, 50), min(v), max(v)) if v else '-'


def floor_table(a, results):
    """What the datagrams alone cost (mode f), and the best (c)/(a) that leaves on this host."""
    if not any(r['mode'] == 'f' for r in results):
        return
    print('\nthe kernel\'s floor: bench-udp echoing the same datagrams, no media work; engine/floor ='
          ' the bypassed engine\'s CPU over it; (c)/(a) at most = (a)\'s CPU over (floor + Yate\'s'
          ' in (c)), what an engine costing only its datagrams would reach (per round)')
    print('%6s | %-24s | %-18s | %-18s' % ('N', FLOOR, 'engine/floor', '(c)/(a) at most'))
    for n in a.n:
        rs = [r for r in results if r['n'] == n]
        floor = [r['ppc'] for r in rs if r['mode'] == 'f']
        over, bound = [], []
        for rnd in range(a.rounds):
            f = [r for r in rs if r['mode'] == 'f' and r['round'] == rnd]
            c = [r for r in rs if r['mode'] == 'c' and r['round'] == rnd]
            y = [r for r in rs if r['mode'] == 'a' and r['round'] == rnd]
            if f and c:
                over.append(c[0]['engine'] / f[0]['engine'])
            if f and y:
                best = n / (f[0]['engine'] + (c[0]['yate'] if c else 0.0))
                bound.append(best / y[0]['ppc'])
        print('%6d | %-24s | %-18s | %-18s' % (n, spread(floor), spread_ratio(over),
                                              spread_ratio(bound)))


def summary(a, results):
    print('\nparticipants per core = N / CPU of (Yate + conf-engine); median (min-max) over rounds')
    print('%6s | %-24s | %-24s | %-24s | %-18s | %-18s' %
          ('N', MODES['a'], MODES['b'], MODES['c'], '(c)/(a)', '(b)/(a)'))
    for n in a.n:
        rs = [r for r in results if r['n'] == n]
        col = {m: [r['ppc'] for r in rs if r['mode'] == m] for m in MODES}
        ratio = {}
        for m in 'bc':
            ratio[m] = []
            for rnd in range(a.rounds):
                x = [r['ppc'] for r in rs if r['mode'] == m and r['round'] == rnd]
                y = [r['ppc'] for r in rs if r['mode'] == 'a' and r['round'] == rnd]
                if x and y:
                    ratio[m].append(x[0] / y[0])
        print('%6d | %-24s | %-24s | %-24s | %-18s | %-18s' %
              (n, spread(col['a']), spread(col['b']), spread(col['c']), spread_ratio(ratio['c']),
               spread_ratio(ratio['b'])))
    floor_table(a, results)
    print('\nadded latency (probe burst sent -> mixed frame received), p50 / p99 / max of the '
          'onsets of all rounds; phones short of audio in the window, summed over rounds')
    print('%6s | %-32s | %-32s | %-32s' % ('N', MODES['a'], MODES['b'], MODES['c']))
    for n in a.n:
        cells = []
        for m in MODES:
            rs = [r for r in results if r['n'] == n and r['mode'] == m and 'lat' in r]
            lat = [x for r in rs for x in r['lat']]
            cells.append('%.1f / %.1f / %.1f ms, %d short' %
                         (e2e.pct(lat, 50), e2e.pct(lat, 99), max(lat), sum(r['short'] for r in rs))
                         if lat else '-')
        print('%6d | %-32s | %-32s | %-32s' % tuple([n] + cells))
    bad = [r for r in results if r['notes']]
    if bad:
        print('\n!!! %d run(s) with a problem:' % len(bad))
        for r in bad:
            for note in r['notes']:
                print('!!!   %s N=%d round %d: %s' % (r['mode'], r['n'], r['round'], note))
    elif results:
        print('\nevery call of every run was answered and ended well (SIPp: 0 failed)')
    print('loadavg %s' % open('/proc/loadavg').read().strip())


def stop_on_signal(signum, frame):
    raise KeyboardInterrupt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n', default='100,250,500,1000',
                    help='participants, a comma-separated list (100,250,500,1000)')
    ap.add_argument('--rounds', type=int, default=3, help='rounds of (a, b, c) (3)')
    ap.add_argument('--seconds', type=float, default=20, help='steady window (20)')
    ap.add_argument('--settle', type=float, default=3, help='seconds after the last answer (3)')
    ap.add_argument('--room', type=int, default=10, help='participants per room (10)')
    ap.add_argument('--rate', type=float, default=50, help='calls placed per second (50)')
    ap.add_argument('--modes', default='abcf',
                    help='which modes, in order (abcf; f: the kernel\'s floor, bench-udp)')
    ap.add_argument('--probe-every', type=int, default=10,
                    help='one probe room in K: a tone-burst talker, the rest listen (10; 0: none)')
    ap.add_argument('--quiet', choices=('silence', 'none'), default='silence',
                    help='what the two thirds who do not talk send (silence)')
    a = ap.parse_args()
    a.n = [int(x) for x in a.n.split(',')]
    if max(a.n) > 2500:
        sys.exit('at most 2,500 calls: SIPp\'s [auto_media_port] wraps after 10,000 ports')
    if not set(a.modes) <= set(MODES) | {'f'}:
        sys.exit('--modes: letters of abcf')
    if 'f' in a.modes and not os.access(BENCH_UDP, os.X_OK):
        sys.exit('not built: %s (make bench/bench-udp)' % BENCH_UDP)
    for tool in ('sipp', 'sox'):
        if not shutil.which(tool):
            sys.exit('%s is not installed (Debian: sip-tester, sox)' % tool)
    if not os.access(yatelib.ENGINE, os.X_OK):
        sys.exit('not built: %s (run from the build folder or set CE_BUILDDIR)' % yatelib.ENGINE)
    prefix, why = yatelib.prefix()
    if not prefix:
        sys.exit('no Yate: %s' % why)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    audio = phone_audio()
    signal.signal(signal.SIGTERM, stop_on_signal)  # `timeout` and `kill` stop it as Ctrl-C does
    print('Yate %s, engine %s; N %s, rooms of %d (a third talking, the rest sending %s), '
          '%d round(s) of %s, %d calls/s, window %.0f s after %.0f s' %
          (prefix, yatelib.ENGINE, ','.join(map(str, a.n)), a.room, a.quiet, a.rounds,
           a.modes, a.rate, a.seconds, a.settle), flush=True)
    results = []
    try:
        for n in a.n:
            for rnd in range(a.rounds):
                for mode in a.modes:
                    r = (run_floor(a, n, rnd) if mode == 'f' else
                         run(a, mode, n, rnd, prefix, audio))
                    results.append(r)
                    print_run(r)
    except KeyboardInterrupt:
        print('interrupted: the figures so far')
    summary(a, results)


if __name__ == '__main__':
    main()
