#!/usr/bin/env python3
"""bench-http.py - the HTTP API under load: request latency, event-stream delivery, engine cost.

yate-sim (load mode, as bench-e2e.py) places PARTICIPANTS callers into
rooms of ROOM, TALKERS of them playing speech (so the talker detector
starts and stops them and talk-start/talk-stop events flow); the engine
runs with an [http] section (an admin token) and every room notifies the
monitor. Then, over real loopback HTTP:

  api      N requests each of GET /api/v1/rooms, GET /api/v1/rooms/NAME,
           GET /metrics and POST .../legs/ID/mute|unmute (a silent
           listener, mute and unmute alternately), interleaved, one at a
           time, each on its own connection (the engine closes it after the
           answer): p50 / p99 / max from connect to the last byte. Measured
           with no event stream open and again with CLIENTS open.
  events   CLIENTS streams of GET /api/v1/events (one worker process, one
           selector loop): for each talk-start/talk-stop, its delay from
           the event's time_us (when the monitor took it on the engine's
           main loop, microseconds of the real-time clock) to its arrival
           at each client (time.time() after the read); p50 / p99 / max,
           the share within 100 ms, and whether every client got every
           event (the ids are the monitor's seq: a client's ids must not
           skip, and each must hold every talker event any client saw).
  cost     phases of SECONDS without (A) and with (B) the clients,
           interleaved A B A B ... to cancel the machine's drift: engine
           CPU s/s (/proc/PID/stat), the media wake histogram
           (conf_engine_media_tick_seconds: p50 / p99 from its buckets,
           wakes over 5 ms), the jitter-buffer counters of /metrics
           (rtp_late, jbuf_waits, mix_deferred, rtp_concealed_ms) and the
           talker events per second.

    bench/bench-http.py [--participants 2500] [--room 10] [--talkers 2] [--clients 100]
                        [--seconds 20] [--rounds 2] [--requests 200]
    bench/bench-http.py --quick          # a smoke run: 40 participants, 5 clients, short phases

Run from the build folder (or set CE_BUILDDIR/CE_SRCDIR). Nothing is
asserted: it prints what it measured ("result:" lines are the figures).
"""

import argparse
import hashlib
import http.client
import importlib.util
import json
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location('bench_e2e', os.path.join(HERE, 'bench-e2e.py'))
e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e)  # proc_cpu, thread_cpu, child_engine, pct, speech_files

BUILDDIR = e2e.BUILDDIR
TOKEN = 'bench-http-secret'
FIRST = 100000
TALKER_EVENTS = ('talk-start', 'talk-stop')
KIND = re.compile(r'"(?:event|type)":"([a-z-]+)"(?!.*"event":")')
# conf_engine_media_tick_seconds' buckets (docs/http.md); a wake's budget is 5 ms
WAKE_BUDGET = 0.005


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- the event-stream clients (a worker process) ----------------------------------

class Stream:
    """One GET /api/v1/events connection: raw socket, the body (chunked or not), SSE lines."""

    def __init__(self, port, token, idx):
        self.idx = idx
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=10)
        self.sock.sendall(('GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                           'Authorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n'
                           % token).encode())
        self.raw = b''
        self.head = None      # the status line, once the headers are in
        self.chunked = False
        self.body = b''       # de-chunked bytes not yet cut into lines
        self.cur = {}         # the SSE event being read
        self.last_id = None
        self.skips = 0        # ids that did not follow the one before
        self.gaps = 0         # "event: gap" received
        self.closed = False
        self.talk = {}        # seq -> (time_us, receive us) of talker events
        self.events = 0
        self.kinds = {}       # lines by type/event (of every line, not only the window's)

    def feed(self, data, now_us):
        self.raw += data
        if self.head is None:
            end = self.raw.find(b'\r\n\r\n')
            if end < 0:
                return
            head = self.raw[:end].decode('latin-1')
            self.head = head.split('\r\n', 1)[0]
            self.chunked = bool(re.search(r'(?im)^transfer-encoding:\s*chunked', head))
            self.raw = self.raw[end + 4:]
        if not self.chunked:  # the body ends with the connection (an engine since issue 23)
            self.body += self.raw
            self.raw = b''
        while self.chunked:  # Transfer-Encoding: chunked (the engines before)
            nl = self.raw.find(b'\r\n')
            if nl < 0:
                break
            size = int(self.raw[:nl].split(b';')[0], 16)
            if size == 0:
                self.closed = True
                self.raw = b''
                break
            if len(self.raw) < nl + 2 + size + 2:
                break
            self.body += self.raw[nl + 2:nl + 2 + size]
            self.raw = self.raw[nl + 2 + size + 2:]
        lines = self.body.split(b'\n')
        self.body = lines.pop()
        for line in lines:
            self.line(line.decode('utf-8', 'replace'), now_us)

    def line(self, line, now_us):
        if not line:
            if 'data' in self.cur:
                self.event(now_us)
            self.cur = {}
            return
        field, _, value = line.partition(':')
        self.cur[field] = value[1:] if value.startswith(' ') else value

    def event(self, now_us):
        ev = self.cur
        if ev.get('event') == 'gap':
            self.gaps += 1
        if 'id' in ev:
            i = int(ev['id'])
            if self.last_id is not None and i != self.last_id + 1:
                self.skips += 1
            self.last_id = i
        self.events += 1
        data = ev['data']
        m = KIND.search(data)
        k = m.group(1) if m else ev.get('event', '?')
        self.kinds[k] = self.kinds.get(k, 0) + 1
        # only the talker events are parsed (cheaply: this loop must keep up with 100 streams)
        if '"talk-' in data:
            d = json.loads(data)
            if d.get('event') in TALKER_EVENTS:
                self.talk[d['seq']] = (d['time_us'], now_us)


def sse_worker(port, token, n):
    """Connect @n streams, say 'connected N' on stdout, read them until a 'stop T0 T1' line
    on stdin, then print the talker events of [T0, T1) (time_us) as JSON and exit."""
    sel = selectors.DefaultSelector()
    streams = []
    for i in range(n):
        s = Stream(port, token, i)
        s.sock.setblocking(False)
        sel.register(s.sock, selectors.EVENT_READ, s)
        streams.append(s)
    sel.register(sys.stdin, selectors.EVENT_READ, None)
    said = False
    stop = None
    lag = 0.0
    while stop is None:
        if not said and all(s.head for s in streams):
            bad = [s.head for s in streams if ' 200 ' not in s.head + ' ']
            print('connected %d %s' % (n - len(bad), json.dumps(bad[:3])), flush=True)
            said = True
        t = time.time()
        for key, _ in sel.select(1.0):
            if key.data is None:
                stop = sys.stdin.readline().split()
                break
            s = key.data
            try:
                data = s.sock.recv(262144)
            except BlockingIOError:
                continue
            except OSError:
                data = b''
            now = int(time.time() * 1e6)
            if not data:
                s.closed = True
                sel.unregister(s.sock)
                continue
            s.feed(data, now)
        lag = max(lag, time.time() - t - 1.0)
    t0, t1 = (int(float(x) * 1e6) for x in stop[1:3]) if len(stop) >= 3 else (0, 1 << 62)
    out = {'clients': [], 'heads': [s.head for s in streams]}
    for s in streams:
        talk = {q: v for q, v in s.talk.items() if t0 <= v[0] < t1}
        out['clients'].append({'closed': s.closed, 'skips': s.skips, 'gaps': s.gaps,
                               'events': s.events, 'kinds': s.kinds, 'talk': talk})
    print(json.dumps(out), flush=True)
    for s in streams:
        s.sock.close()


def start_clients(a, port):
    """The worker process with a.clients streams open; None if they did not all connect."""
    w = subprocess.Popen([sys.executable, os.path.abspath(__file__), '--sse-worker',
                          str(port), str(a.clients)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    line = w.stdout.readline().split(' ', 2)
    if len(line) < 2 or line[0] != 'connected' or int(line[1]) != a.clients:
        print('event streams: only %s of %d connected: %s' %
              (line[1] if len(line) > 1 else 0, a.clients, line[2:]), flush=True)
    return w


def stop_clients(w, t0, t1):
    """The worker's talker events of [t0, t1) per client; the worker ended."""
    w.stdin.write('stop %.6f %.6f\n' % (t0, t1))
    w.stdin.flush()
    out = json.loads(w.stdout.readline())
    w.wait(timeout=30)
    return out


# ---- the engine over HTTP ------------------------------------------------------------

def request(port, method, path, body=None):
    """(status, body bytes, seconds from connect to the answer's last byte)."""
    t = time.perf_counter()
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    try:
        c.request(method, path, body=body, headers={'Authorization': 'Bearer ' + TOKEN})
        r = c.getresponse()
        data = r.read()
        return r.status, data, time.perf_counter() - t
    finally:
        c.close()


def metrics(port):
    """{name or name{labels}: value} of GET /metrics."""
    st, body, _ = request(port, 'GET', '/metrics')
    out = {}
    for line in body.decode().splitlines():
        if line.startswith('#') or not line.strip():
            continue
        name, _, value = line.rpartition(' ')
        try:
            out[name] = float(value)
        except ValueError:
            pass
    return out


def wake_hist(m):
    """[(le, cumulative count)] of the media wake histogram in metrics @m."""
    rows = []
    for k, v in m.items():
        mm = re.match(r'conf_engine_media_tick_seconds_bucket\{le="([^"]+)"\}$', k)
        if mm:
            rows.append((float('inf') if mm.group(1) == '+Inf' else float(mm.group(1)), v))
    return sorted(rows)


def hist_quantile(h0, h1, q):
    """The bucket bound under which a share @q of the wakes between two scrapes fell."""
    d = [(le, c1 - c0) for (le, c1), (_, c0) in zip(h1, h0)]
    total = d[-1][1] if d else 0
    for le, c in d:
        if total and c >= q * total:
            return le
    return float('nan')


def hist_over(h0, h1, bound):
    """Wakes between two scrapes that took more than @bound seconds."""
    d = [(le, c1 - c0) for (le, c1), (_, c0) in zip(h1, h0)]
    under = max([c for le, c in d if le <= bound] or [0])
    return (d[-1][1] if d else 0) - under


def fmt_s(v):
    if v != v:
        return 'n/a'
    if v == float('inf'):
        return '>20 ms'
    return '%g ms' % (v * 1000) if v >= 0.001 else '%g µs' % (v * 1e6)


def wait_legs(port, n, deadline):
    """The engine's conf_engine_legs once it reaches @n or at @deadline."""
    legs = 0
    while time.time() < deadline:
        try:
            legs = int(metrics(port).get('conf_engine_legs', 0))
        except (OSError, http.client.HTTPException):
            legs = 0
        if legs >= n:
            break
        time.sleep(0.5)
    return legs


def api_latency(a, port, rooms, legs, label):
    """a.requests of each kind, interleaved; prints p50/p99/max per kind."""
    kinds = ['GET /api/v1/rooms', 'GET /api/v1/rooms/NAME', 'GET /metrics',
             'POST /api/v1/rooms/NAME/legs/ID/mute|unmute']
    times = {k: [] for k in kinds}
    bad = {}
    muted = set()
    for i in range(a.requests):
        room = rooms[i % len(rooms)]
        for k in kinds:
            if k == kinds[0]:
                st, _, t = request(port, 'GET', '/api/v1/rooms')
            elif k == kinds[1]:
                st, _, t = request(port, 'GET', '/api/v1/rooms/' + room)
            elif k == kinds[2]:
                st, _, t = request(port, 'GET', '/metrics')
            else:
                leg = legs[i % len(legs)]
                act = 'unmute' if leg in muted else 'mute'
                muted ^= {leg}
                st, _, t = request(port, 'POST', '/api/v1/rooms/%s/legs/%s/%s' %
                                   (leg[0], leg[1], act))
            times[k].append(t * 1000)
            if st != 200:
                bad[k] = bad.get(k, 0) + 1
    for leg in muted:
        request(port, 'POST', '/api/v1/rooms/%s/legs/%s/unmute' % leg)
    for k in kinds:
        v = times[k]
        print('result: api %s: %-46s n=%d p50 %.2f ms p99 %.2f ms max %.2f ms%s' %
              (label, k, len(v), e2e.pct(v, 50), e2e.pct(v, 99), max(v),
               ', %d not 200' % bad[k] if k in bad else ''), flush=True)
    return times, bad


def listeners(port, rooms, talkers):
    """(room, leg seq) of a silent listener in each of the first rooms (for mute/unmute)."""
    out = []
    for room in rooms[:50]:
        st, body, _ = request(port, 'GET', '/api/v1/rooms/' + room)
        if st != 200:
            continue
        legs = json.loads(body).get('legs', [])
        for leg in legs:
            if int(leg.get('caller') or 0) % 1000 >= talkers and 'seq' in leg:
                out.append((room, leg['seq']))
                break
    return out


# ---- the run ---------------------------------------------------------------------------

def scenario(a, speech):
    """The scenario lines and the room names; the time the joins take."""
    lines = ['route ^8([0-9]+)$ conf/b$1 maxusers=%d notify=conf-monitor/bench' % max(a.room, 10)]
    nrooms = (a.participants + a.room - 1) // a.room
    t, left, names = 0.0, a.participants, []
    for r in range(nrooms):
        size = min(a.room, left)
        left -= size
        base = FIRST + 1000 * r  # caller numbers: room * 1000 + index (talkers first)
        talkers = min(a.talkers, size)
        for k in range(talkers):
            lines.append('at %.3f calls 1 %d 8%d play=%s' %
                         (t + 0.005 * k, base + k, r, speech[(r + k) % len(speech)]))
        if size > talkers:
            lines.append('at %.3f calls %d %d 8%d rate=%d' %
                         (t + 0.01, size - talkers, base + talkers, r, a.rate))
        names.append('b%d' % r)
        t += size / a.rate
    return lines, names, t


def phase_stats(port, epid, worker=None):
    return (time.time(), e2e.proc_cpu(epid), metrics(port), e2e.thread_cpu(epid),
            e2e.proc_cpu(worker.pid) if worker else 0.0)


def phase_report(label, s0, s1):
    wall = s1[0] - s0[0]
    m0, m1 = s0[2], s1[2]
    h0, h1 = wake_hist(m0), wake_hist(m1)

    def d(k):
        k = 'conf_engine_' + k
        return m1[k] - m0.get(k, 0) if k in m1 else -1  # -1: an engine without the counter
    row = {'cpu': (s1[1] - s0[1]) / wall, 'p50': hist_quantile(h0, h1, 0.5),
           'p99': hist_quantile(h0, h1, 0.99), 'over': hist_over(h0, h1, WAKE_BUDGET),
           'wakes': (h1[-1][1] - h0[-1][1]) if h1 and h0 else 0,
           'late': d('rtp_late'), 'waits': d('jbuf_waits'), 'deferred': d('mix_deferred'),
           'concealed': d('rtp_concealed_ms'), 'wall': wall,
           'main': (s1[3].get('conf-engine', 0) - s0[3].get('conf-engine', 0)) / wall,
           'media': (s1[3].get('ce-media', 0) - s0[3].get('ce-media', 0)) / wall,
           'clients': (s1[4] - s0[4]) / wall}
    print('result: phase %s: %.1f s, engine CPU %.3f s/s (main loop %.3f, media %.3f; the '
          'clients\' process %.3f), media wakes %d: p50 <= %s, '
          'p99 <= %s, %d over 5 ms; rtp_late +%d, jbuf_waits +%d, mix_deferred +%d, '
          'concealed +%d ms; loadavg %s' %
          (label, wall, row['cpu'], row['main'], row['media'], row['clients'], row['wakes'],
           fmt_s(row['p50']), fmt_s(row['p99']),
           row['over'], row['late'], row['waits'], row['deferred'], row['concealed'],
           open('/proc/loadavg').read().split()[0]), flush=True)
    return row


def delivery_report(label, out, nclients):
    clients = out['clients']
    union = set()
    for c in clients:
        union |= set(c['talk'])
    delays, missed, worst = [], 0, 0
    for c in clients:
        got = c['talk']
        missed += len(union) - len(set(got) & union)
        for q, (tus, rus) in got.items():
            delays.append((rus - tus) / 1000.0)
    first = {}
    for c in clients:
        for q, (tus, rus) in c['talk'].items():
            first[q] = min(first.get(q, rus - tus), rus - tus)
    first = [v / 1000.0 for v in first.values()]
    closed = sum(1 for c in clients if c['closed'])
    skips = sum(c['skips'] for c in clients)
    gaps = sum(c['gaps'] for c in clients)
    within = sum(1 for x in delays if x <= 100.0)
    every = not missed and not closed and not skips and not gaps and len(clients) == nclients
    lines = sum(c['events'] for c in clients) / max(1, len(clients))
    if clients:
        print('stream lines of client 0 by kind: ' + ', '.join(
            '%s %d' % kv for kv in sorted(clients[0]['kinds'].items(), key=lambda kv: -kv[1])),
            flush=True)
    print('result: events %s: %d clients, %.0f lines each while connected, %d talker events, '
          '%d deliveries: delay p50 %.2f ms, '
          'p99 %.2f ms, max %.2f ms, %.3f%% within 100 ms; missed %d, id skips %d, gaps %d, '
          'streams closed %d; every client got every event: %s; the first client to get '
          'each: p50 %.2f ms, p99 %.2f ms' %
          (label, len(clients), lines, len(union), len(delays), e2e.pct(delays, 50),
           e2e.pct(delays, 99), max(delays) if delays else float('nan'),
           100.0 * within / len(delays) if delays else 0.0, missed, skips, gaps, closed,
           'yes' if every and union else 'no', e2e.pct(first, 50), e2e.pct(first, 99)),
          flush=True)
    return delays, len(union), every


def median(v):
    v = sorted(v)
    return v[len(v) // 2] if v else float('nan')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--participants', '-n', type=int, default=2500, help='participants (2500)')
    ap.add_argument('--room', '-r', type=int, default=10, help='participants per room (10)')
    ap.add_argument('--talkers', '-t', type=int, default=2,
                    help='speech talkers per room (2): their talk-start/stop are the events')
    ap.add_argument('--clients', '-c', type=int, default=100, help='event-stream clients (100)')
    ap.add_argument('--seconds', '-s', type=float, default=20, help='seconds per phase (20)')
    ap.add_argument('--rounds', type=int, default=2, help='A B pairs of phases (2)')
    ap.add_argument('--requests', type=int, default=200, help='requests of each kind (200)')
    ap.add_argument('--rate', type=int, default=400, help='joins per second (400)')
    ap.add_argument('--settle', type=float, default=3, help='seconds after the joins (3)')
    ap.add_argument('--quick', action='store_true',
                    help='a smoke run: 40 participants, 5 clients, 2 s phases, 1 round, '
                         '10 requests (explicit options still apply on top)')
    ap.add_argument('--keep', action='store_true', help='keep the run folder')
    ap.add_argument('--sse-worker', nargs=2, metavar=('PORT', 'N'), help=argparse.SUPPRESS)
    if '--quick' in sys.argv:
        ap.set_defaults(participants=40, clients=5, seconds=2, rounds=1, requests=10, settle=1)
    a = ap.parse_args()
    if a.sse_worker:
        sse_worker(int(a.sse_worker[0]), TOKEN, int(a.sse_worker[1]))
        return

    sim = os.environ.get('YATE_SIM') or os.path.join(BUILDDIR, 'tests/sim/yate-sim')
    engine = os.environ.get('CE_ENGINE') or os.path.join(BUILDDIR, 'conf-engine/conf-engine')
    for p in (sim, engine):
        if not os.access(p, os.X_OK):
            sys.exit('not built: %s (run from the build folder or set CE_BUILDDIR)' % p)
    d = tempfile.mkdtemp(prefix='bench-http.')
    lines, rooms, joins = scenario(a, e2e.speech_files())
    # the run ends when the bench says so (SIGTERM); these bound it if the bench dies
    span = joins + a.settle + 600 + 2 * a.rounds * (a.seconds + 30)
    with open(os.path.join(d, 'http.scn'), 'w') as f:
        f.write('\n'.join(lines) + '\nend %.1f\n' % span)
    port = free_port()
    with open(os.path.join(d, 'engine.conf'), 'w') as f:
        # resume_events=0: a new stream starts with the live events, not with the 10,000
        # kept ones each of the clients would otherwise be sent first at every phase
        f.write('[general]\n[log]\n[conference]\nenter_prompt=\nleave_prompt=\n'
                'lonely_prompt=\n[monitor]\nresume_events=0\n'
                '[http]\nenabled=true\nport=%d\ntoken.bench=admin:%s\nmax_event_clients=%d\n'
                % (port, hashlib.sha256(TOKEN.encode()).hexdigest(), a.clients + 10))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print('run folder %s: %d participants in %d rooms of %d, %d talkers each, %d event '
          'clients, %d rounds of A (no clients) / B (clients) phases of %.0f s, %d requests '
          'of each kind; joins %.1f s; loadavg %s' %
          (d, a.participants, len(rooms), a.room, a.talkers, a.clients, a.rounds, a.seconds,
           a.requests, joins, open('/proc/loadavg').read().strip()), flush=True)
    err = open(os.path.join(d, 'sim.err'), 'w')
    simp = subprocess.Popen([sim, '--rtp-shared', '--ready-max', '5', '--max-time',
                             str(int(span + 60)), '-e', os.path.join(d, 'ev.jsonl'),
                             os.path.join(d, 'http.scn'), '--', engine, '--config',
                             os.path.join(d, 'engine.conf')], stdout=err, stderr=err)
    try:
        run(a, d, simp, port, rooms, joins)
    finally:
        if simp.poll() is None:
            simp.send_signal(signal.SIGTERM)
            try:
                simp.wait(timeout=60)
            except subprocess.TimeoutExpired:
                simp.kill()
                simp.wait()
        err.close()
    if a.keep:
        print('kept %s' % d)
    else:
        shutil.rmtree(d, ignore_errors=True)


def run(a, d, simp, port, rooms, joins):
    start = time.time()
    epid = None
    while time.time() < start + 20 and epid is None:
        epid = e2e.child_engine(simp.pid)
        time.sleep(0.05)
    if epid is None:
        sys.exit('no conf-engine process under the simulator within 20 s; see %s/sim.err' % d)
    legs = wait_legs(port, a.participants, start + joins + 60)
    if legs < a.participants:
        print('only %d of %d participants joined within %.0f s: measuring with them' %
              (legs, a.participants, joins + 60), flush=True)
    time.sleep(a.settle)
    m = metrics(port)
    talkers = sum(v for k, v in m.items() if k.startswith('conf_engine_room_talkers{'))
    print('joined: %d legs in %d rooms, %d talking now, engine VmRSS %d KiB, %.1f s after '
          'start' % (m.get('conf_engine_legs', 0), m.get('conf_engine_rooms', 0), talkers,
                     e2e.proc_rss_kib(epid), time.time() - start), flush=True)

    mutes = listeners(port, rooms, a.talkers)
    if not mutes:
        sys.exit('no silent listener found in GET /api/v1/rooms/NAME to mute')
    api_latency(a, port, rooms, mutes, 'no streams')

    rows = {'A': [], 'B': []}
    delays, every, nevents = [], True, 0
    for r in range(a.rounds):
        s0 = phase_stats(port, epid)
        time.sleep(a.seconds)
        rows['A'].append(phase_report('A%d (no clients)' % (r + 1), s0, phase_stats(port, epid)))
        w = start_clients(a, port)
        time.sleep(0.5)  # every stream live before the window
        s0 = phase_stats(port, epid, w)
        time.sleep(a.seconds)
        s1 = phase_stats(port, epid, w)
        if r == a.rounds - 1:
            api_latency(a, port, rooms, mutes, '%d streams' % a.clients)
        time.sleep(0.5)  # the window's last events reach the clients
        out = stop_clients(w, s0[0], s1[0])
        rows['B'].append(phase_report('B%d (%d clients)' % (r + 1, a.clients), s0, s1))
        dl, ne, ok = delivery_report('B%d' % (r + 1), out, a.clients)
        delays += dl
        nevents += ne
        every = every and ok
    a_cpu = [x['cpu'] for x in rows['A']]
    b_cpu = [x['cpu'] for x in rows['B']]
    ratios = [b / x for x, b in zip(a_cpu, b_cpu) if x]
    print('result: summary: engine main loop without clients %s s/s, with %d clients %s s/s'
          % (' '.join('%.3f' % x['main'] for x in rows['A']), a.clients,
             ' '.join('%.3f' % x['main'] for x in rows['B'])), flush=True)
    print('result: summary: engine CPU without clients %s s/s, with %d clients %s s/s, '
          'ratio B/A %s (median %.3f); media wake p99 A %s / B %s; wakes over 5 ms '
          'A %d / B %d' %
          (' '.join('%.3f' % x for x in a_cpu), a.clients, ' '.join('%.3f' % x for x in b_cpu),
           ' '.join('%.3f' % x for x in ratios), median(ratios),
           ' '.join(fmt_s(x['p99']) for x in rows['A']),
           ' '.join(fmt_s(x['p99']) for x in rows['B']),
           sum(x['over'] for x in rows['A']), sum(x['over'] for x in rows['B'])), flush=True)
    print('result: summary: %d talker events to %d clients, %d deliveries: delay p50 %.2f ms, '
          'p99 %.2f ms, max %.2f ms; every client got every event: %s' %
          (nevents, a.clients, len(delays), e2e.pct(delays, 50), e2e.pct(delays, 99),
           max(delays) if delays else float('nan'), 'yes' if every and nevents else 'no'),
          flush=True)
    print('engine threads over the run (s): ' + ', '.join(
        '%s %.2f' % kv for kv in sorted(e2e.thread_cpu(epid).items())), flush=True)


if __name__ == '__main__':
    main()
