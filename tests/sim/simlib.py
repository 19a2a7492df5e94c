"""simlib.py - run yate-sim scenarios from Python tests and read what happened.

Standard library only.  Typical use in a test that prints TAP:

    import simlib
    tap = simlib.Tap()
    r = simlib.run('''
        route ^800$ conf/room1
        at 0 call 1001 800 play=tone:440 record=1001.wav
        at 2 expect heard 1001 440
        at 3 hangup all
    ''', module=simlib.ENGINE)
    tap.ok(r.ok, 'caller hears the room', r.why())
    tap.ok(r.events('answered', who='1001'), '1001 was answered')
    tap.ok(r.messages('chan.rtp', status='created'), 'RTP attached')
    tap.ok(simlib.tone_ratio(r.wav('1001.wav'), 440) > 0.5, '440 Hz in the recording')
    tap.done()

Paths come from the environment the automake harness sets (CE_BUILDDIR,
CE_SRCDIR) and fall back to the source tree when run by hand.
"""
import json
import math
import os
import select
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get('CE_SRCDIR') or os.path.dirname(os.path.dirname(HERE))
BUILDDIR = os.environ.get('CE_BUILDDIR') or SRCDIR
YATE_SIM = os.environ.get('YATE_SIM') or os.path.join(BUILDDIR, 'tests', 'sim', 'yate-sim')
ENGINE = [os.path.join(BUILDDIR, 'conf-engine', 'conf-engine')]
ECHO = [os.path.join(SRCDIR, 'tests', 'sim', 'echo-module.py')]
DATA = os.path.join(SRCDIR, 'tests', 'data', 'sim')

# Exit statuses of yate-sim.
OK, EXPECT_FAILED, MODULE_PROBLEM, USAGE = 0, 1, 2, 3


def data(name):
    """Absolute path of a fixture in tests/data/sim."""
    return os.path.join(DATA, name)


class Result:
    """What one run of yate-sim left: status, event log, transcript, files."""

    def __init__(self, code, workdir, stderr):
        self.code = code
        self.workdir = workdir
        self.stderr = stderr
        self.log = []
        path = os.path.join(workdir, 'events.jsonl')
        if os.path.exists(path):
            with open(path, encoding='utf-8') as f:
                for line in f:
                    line = line.strip()
                    if line:
                        self.log.append(json.loads(line))
        self.transcript = []
        path = os.path.join(workdir, 'transcript.txt')
        if os.path.exists(path):
            with open(path, encoding='utf-8', errors='replace') as f:
                for line in f:
                    if line[1:3] == ': ':
                        self.transcript.append((line[0], line[3:].rstrip('\n')))

    @property
    def ok(self):
        return self.code == OK

    def why(self):
        """The simulator's own summary lines (for TAP diagnostics)."""
        return '\n'.join(l for l in self.stderr.splitlines() if l.startswith('yate-sim:'))

    def events(self, ev=None, **fields):
        """Events named @ev (any if None) whose fields equal every keyword given."""
        out = []
        for e in self.log:
            if ev is not None and e.get('ev') != ev:
                continue
            if all(str(e.get(k)) == str(v) if not isinstance(v, bool) else e.get(k) == v
                   for k, v in fields.items()):
                out.append(e)
        return out

    def messages(self, name=None, handled=None, **params):
        """Dispatched messages (dicts with name, handled, retval, params) that match."""
        out = []
        for e in self.log:
            if e.get('ev') != 'message':
                continue
            if name is not None and e['name'] != name:
                continue
            if handled is not None and e['handled'] != handled:
                continue
            if all(e['params'].get(k) == str(v) for k, v in params.items()):
                out.append(e)
        return out

    def problems(self, what=None):
        return [e for e in self.log if e.get('ev') == 'problem' and
                not e.get('allowed') and (what is None or e.get('what') == what)]

    def expectations(self):
        """(ok, what, detail) of every 'expect' step."""
        return [(e['ok'], e['what'], e['detail']) for e in self.events('expect')]

    def lines(self, direction=None):
        """Transcript lines; direction 'E' (simulator) or 'A' (module)."""
        return [l for d, l in self.transcript if direction is None or d == direction]

    def path(self, name):
        return os.path.join(self.workdir, name)

    def wav(self, name):
        """Samples of a WAV file the run recorded (relative to the run's folder)."""
        return read_wav(self.path(name))[1]

    def cleanup(self):
        shutil.rmtree(self.workdir, ignore_errors=True)


def spawn(scenario, module=None, args=(), workdir=None, stderr=subprocess.PIPE):
    """Start yate-sim on @scenario in the background; (Popen, workdir).

    The same run as run() below, for a test that acts while it goes on
    (tests/faults/faultlib.py): it reads events.jsonl as it grows, and ends
    with Result(p.wait(...), workdir, stderr_text).
    """
    workdir = workdir or tempfile.mkdtemp(prefix='yate-sim-')
    scn = os.path.join(workdir, 'scenario.scn')
    with open(scn, 'w') as f:
        f.write(scenario)
    cmd = [YATE_SIM, '-e', os.path.join(workdir, 'events.jsonl'),
           '-t', os.path.join(workdir, 'transcript.txt')] + list(args) + [scn]
    if module:
        cmd += ['--'] + list(module)
    return subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=stderr), workdir


def run(scenario, module=None, args=(), timeout=120, workdir=None, keep=False):
    """Run yate-sim on @scenario (text) with @module (argv list, or None).

    The run happens in a fresh temporary folder (recordings land there);
    @args are extra yate-sim options.  The wait is bounded by @timeout
    seconds; on expiry the simulator is killed and the code is -9.
    """
    p, workdir = spawn(scenario, module, args, workdir)
    try:
        err = p.communicate(timeout=timeout)[1]
        code, err = p.returncode, err.decode('utf-8', 'replace')
    except subprocess.TimeoutExpired:
        p.kill()
        err = p.communicate()[1]
        code, err = -9, err.decode('utf-8', 'replace') + '\nsimlib: timed out'
    return Result(code, workdir, err)


# ---- the store ----------------------------------------------------------------

# ---- audio --------------------------------------------------------------------

def read_wav(path):
    """(rate, list of int samples of the first channel) of a 16-bit PCM WAV."""
    with wave.open(path, 'rb') as w:
        rate, n, ch, width = w.getframerate(), w.getnframes(), w.getnchannels(), w.getsampwidth()
        raw = w.readframes(n)
    if width != 2:
        raise ValueError('%s: only 16-bit PCM is read here' % path)
    samples = [int.from_bytes(raw[i:i + 2], 'little', signed=True)
               for i in range(0, len(raw), 2 * ch)]
    return rate, samples


def write_wav(path, samples, rate=8000):
    """A 16-bit mono PCM WAV of @samples (ints, clipped to 16 bits)."""
    with wave.open(path, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b''.join(int(max(-32768, min(32767, x))).to_bytes(2, 'little', signed=True)
                               for x in samples))
    return path


def beeps(freq, seconds, on=0.4, off=0.2, amplitude=0.3, rate=8000):
    """@seconds of beeps (@on s of @freq at @amplitude of full scale, @off s of
    silence), int samples: what a talker looks like to the talker detector,
    with a frequency of its own for who_hears."""
    period, lit = int((on + off) * rate), int(on * rate)
    peak = 32768 * amplitude
    one = [int(peak * math.sin(2 * math.pi * freq * i / rate)) if i < lit else 0
           for i in range(period)]
    n = int(seconds * rate)
    return (one * (n // period + 1))[:n]


def tone_ratio(samples, freq, rate=8000):
    """Share of the energy of @samples at @freq: ~1 pure tone, ~0 absent.

    A Goertzel filter per 20 ms frame, the frames' tone energies added (as
    yate-sim's expect does): concealment or a jitter buffer's skip shifts a
    tone's phase, which would cancel a filter run over the whole recording.
    """
    n = len(samples)
    if not n:
        return 0.0
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    frame = max(1, rate // 50)
    energy = tone = 0.0
    for off in range(0, n, frame):
        chunk = samples[off:off + frame]
        s1 = s2 = 0.0
        for x in chunk:
            s1, s2 = x + coeff * s1 - s2, s1
            energy += x * x
        tone += 2 * (s1 * s1 + s2 * s2 - coeff * s1 * s2) / len(chunk)
    if energy <= 0:
        return 0.0
    return tone / energy


def level_dbfs(samples):
    """RMS level in dBFS (-120 for silence)."""
    if not samples:
        return -120.0
    ms = sum(x * x for x in samples) / len(samples)
    return 20 * math.log10(math.sqrt(ms) / 32768) if ms > 0 else -120.0


def tone_level(samples, freq, rate=8000):
    """Level of @freq in @samples, dB relative to a full-scale sine (-120: none)."""
    if not samples:
        return -120.0
    ms = sum(x * x for x in samples) / len(samples)
    e = tone_ratio(samples, freq, rate) * ms
    return 10 * math.log10(e / (32768.0 * 32768 / 2)) if e > 0 else -120.0


def band_level(samples, lo, hi, rate=8000):
    """Level of the band from @lo to @hi Hz in @samples, dB relative to a full-scale sine
    (-120: none): tone_ratio()'s 50 Hz bins in it added.  They are the 20 ms frames' DFT
    bins, orthogonal, so the sum is the band's energy whatever its shape: a codec that
    keeps a band's energy but not its tone (Opus's CELT fills a band it spends few bits on
    with noise) reads as loud as one that kept the tone, which tone_level() would not."""
    if not samples:
        return -120.0
    ms = sum(x * x for x in samples) / len(samples)
    e = sum(tone_ratio(samples, f, rate) for f in range(lo // 50 * 50, hi + 1, 50)) * ms
    return 10 * math.log10(e / (32768.0 * 32768 / 2)) if e > 0 else -120.0


def who_hears(samples, present=(), absent=(), margin=20.0, floor=-45.0, rate=8000):
    """Mix-minus check of what one caller heard: (ok, {Hz: dB}) for a TAP diagnostic.

    Every tone of @present (the other talkers' frequencies) must be at least
    @floor dB (re a full-scale sine) loud, and every tone of @absent (the
    caller's own, or a room it is not in) at least @margin dB below the
    weakest present one (@margin dB below @floor when none is present).  A
    ratio between tones, not an absolute timing: a mixer that gave a caller
    its own signal back (no mix-minus) leaves the two at about the same level.
    The filter runs on 20 ms frames (tone_ratio), so it leaks a loud tone
    into frequencies a few 50 Hz bins away: keep the tones compared about
    300 Hz or more apart (440, 1000, 1600 Hz), or the leak eats the margin.
    """
    levels = {f: round(tone_level(samples, f, rate), 1) for f in tuple(present) + tuple(absent)}
    weakest = min([levels[f] for f in present] or [floor])
    ok = bool(samples) and all(levels[f] >= floor for f in present) and \
        all(levels[f] <= weakest - margin for f in absent)
    return ok, levels


def check_recording(path, seconds, tolerance=None, rate=8000):
    """A room's recording: (ok, samples, detail) for a TAP diagnostic.

    @path must open with the standard library's wave module as 16-bit mono
    at @rate, and last @seconds (the time the room recorded, from the test's
    own record of events) within @tolerance (default: 0.5 s or a tenth,
    whichever is larger).  The samples come back for the content checks.
    """
    tolerance = max(0.5, seconds / 10) if tolerance is None else tolerance
    try:
        with wave.open(path, 'rb') as w:
            fmt = (w.getframerate(), w.getnchannels(), w.getsampwidth())
        got_rate, samples = read_wav(path)
    except (OSError, EOFError, wave.Error, ValueError) as e:
        return False, [], '%s: %s' % (path, e)
    length = len(samples) / float(got_rate or 1)
    ok = fmt == (rate, 1, 2) and abs(length - seconds) <= tolerance
    return ok, samples, '(rate, channels, width) %s, %.2f s (want %.2f +- %.2f s)' % (
        fmt, length, seconds, tolerance)


BANDS = (250, 500, 800, 1200, 1800, 2600)


def envelope(samples, rate=8000):
    """Per 20 ms frame, the log energy (dB) at a few frequencies across the
    voice band: the shape of speech, which G.711 and a mix keep while they
    change every sample, and which tells one word from another."""
    frame = max(1, rate // 50)
    coeffs = [2 * math.cos(2 * math.pi * f / rate) for f in BANDS]
    out = []
    for off in range(0, len(samples) - frame + 1, frame):
        chunk = samples[off:off + frame]
        for c in coeffs:
            s1 = s2 = 0.0
            for x in chunk:
                s1, s2 = x + c * s1 - s2, s1
            # a floor: the noise of a line or a codec is not part of the shape
            out.append(max(40.0, 10 * math.log10((s1 * s1 + s2 * s2 - c * s1 * s2) / frame + 1.0)))
    return out


def find_prompt(heard, prompt, start=0, rate=8000):
    """Where prompt @prompt (samples) plays in recording @heard, told by
    content: (correlation, seconds) of the best match of the two spectral
    envelopes (envelope()) at or after @start seconds.  Above 0.8 is the
    prompt; other prompts and silence stay well below.  A prompt cut short
    (barge-in) is not found whole: look for the part that played."""
    k = len(BANDS)
    h, p = envelope(heard, rate), envelope(prompt, rate)
    n = len(p)
    if not n or len(h) < n:
        return 0.0, None
    pm = sum(p) / n
    pd = [x - pm for x in p]
    pn = math.sqrt(sum(x * x for x in pd)) or 1.0
    best, at = -1.0, None
    for i in range(int(start * 50) * k, len(h) - n + 1, k):
        w = h[i:i + n]
        wm = sum(w) / n
        num = sum((a - wm) * b for a, b in zip(w, pd))
        den = math.sqrt(sum((a - wm) ** 2 for a in w)) * pn
        c = num / den if den else 0.0
        if c > best:
            best, at = c, i / k / 50.0
    return best, at


def prompt_samples(name, lang='en'):
    """The samples of a shipped prompt (conf/prompts/LANG/NAME.wav)."""
    return read_wav(os.path.join(SRCDIR, 'conf', 'prompts', lang, name + '.wav'))[1]


def window(samples, start_s, end_s, rate=8000):
    """The samples between two times (seconds from the start of the recording)."""
    return samples[int(start_s * rate):int(end_s * rate)]


def hears_all(tap, r, freqs, window_s, label):
    """Mix-minus on every caller's recording (LABEL.wav) of run @r in @window_s (start, end
    seconds): each hears the others' tones of @freqs (label -> Hz), not its own."""
    for who in sorted(freqs):
        others = [o for o in sorted(freqs) if o != who]
        try:
            samples = window(r.wav(who + '.wav'), *window_s)
        except (OSError, EOFError) as e:
            samples = []
            print('# %s.wav: %s' % (who, e))
        ok, levels = who_hears(samples, present=[freqs[o] for o in others], absent=[freqs[who]])
        tap.ok(ok, '%s%s hears %s, not itself' % (label, who, ', '.join(others)), levels)


# ---- protocol, for tests that play the module themselves ------------------------

def esc(s):
    out = []
    for ch in s:
        c = ord(ch)
        if ch == '%':
            out.append('%%')
        elif c < 32 or ch == ':':
            out.append('%' + chr(c + 64))
        else:
            out.append(ch)
    return ''.join(out)


def unesc(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == '%' and i + 1 < len(s):
            out.append('%' if s[i + 1] == '%' else chr(ord(s[i + 1]) - 64))
            i += 2
        else:
            out.append(s[i])
            i += 1
    return ''.join(out)


class Line:
    """One protocol line, split: kind ('>message', '<message', '<install', ...), fields."""

    def __init__(self, text):
        self.text = text
        self.kind = None
        self.id = self.name = self.retval = None
        self.handled = None
        self.params = []
        if text.startswith('%%>message:') or text.startswith('%%<message:'):
            f = text[11:].split(':')
            self.kind = text[2:10]
            self.id = unesc(f[0])
            if self.kind == '>message':
                self.name, self.retval = unesc(f[2]), unesc(f[3])
            else:
                self.handled = f[1] == 'true'
                self.name, self.retval = unesc(f[2]), unesc(f[3])
            for p in f[4:]:
                k, _, v = p.partition('=')
                self.params.append((unesc(k), unesc(v)))
        elif text.startswith('%%<') or text.startswith('%%>'):
            self.kind = text[2:].split(':')[0]
        elif text.startswith('Error in:'):
            self.kind = 'error'

    def get(self, name, default=None):
        for k, v in self.params:
            if k == name:
                return v
        return default

    def names(self):
        return [k for k, _ in self.params]

    def __repr__(self):
        return self.text


class Module:
    """Play the module's side over a --listen socket, with bounded waits."""

    def __init__(self, path, timeout=10, role='global'):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.buf = b''
        self.seen = []
        self.seq = 0
        if role:
            self.send('%%>connect:' + role)

    def send(self, line):
        self.sock.sendall(line.encode() + b'\n')

    def message(self, name, params, retval=''):
        """Send %%>message with a fresh id; returns the id."""
        self.seq += 1
        mid = 't%d' % self.seq
        fields = ''.join(':%s=%s' % (esc(k), esc(v)) for k, v in params)
        self.send('%%%%>message:%s:%d:%s:%s%s' % (mid, int(time.time()), name, esc(retval),
                                                 fields))
        return mid

    def answer(self, line, handled, params=(), retval=''):
        fields = ''.join(':%s=%s' % (esc(k), esc(v)) for k, v in params)
        self.send('%%%%<message:%s:%s::%s%s' % (esc(line.id), 'true' if handled else 'false',
                                               esc(retval), fields))

    def read(self, timeout):
        """The next line, or None after @timeout seconds (0: only what has already come)."""
        deadline = time.time() + timeout
        while b'\n' not in self.buf:
            # polled even when the time is up: read(0) takes what is waiting in the socket
            left = max(0.0, deadline - time.time())
            if not select.select([self.sock], [], [], left)[0]:
                return None
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
        raw, self.buf = self.buf.split(b'\n', 1)
        line = Line(raw.decode('utf-8', 'replace'))
        self.seen.append(line)
        return line

    def wait(self, pred, timeout=10, answer_others=True):
        """Read until a line satisfies @pred; other requests are answered false."""
        deadline = time.time() + timeout
        while True:
            line = self.read(max(0.0, deadline - time.time()))
            if line is None:
                return None
            if pred(line):
                return line
            if answer_others and line.kind == '>message':
                self.answer(line, False)

    def close(self):
        self.sock.close()


class Tap:
    """Minimal TAP writer: ok(), skip(), done() prints the plan last."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print('%s %d - %s' % ('ok' if cond else 'not ok', self.n, name))
        if not cond and diag:
            for l in str(diag).splitlines():
                print('# ' + l)
        sys.stdout.flush()
        return bool(cond)

    def skip(self, name, why):
        self.n += 1
        print('ok %d - %s # SKIP %s' % (self.n, name, why))

    def done(self):
        print('1..%d' % self.n)
        sys.exit(1 if self.failed else 0)


def schema_db(path):
    """A new SQLite file at @path with the engine's schema (sql/sqlite/), open (sqlite3)."""
    db = sqlite3.connect(path)
    sqldir = os.path.join(SRCDIR, 'sql', 'sqlite')
    for name in sorted(os.listdir(sqldir)):
        if name.endswith('.sql'):
            with open(os.path.join(sqldir, name)) as f:
                db.executescript('BEGIN;' + f.read() + 'COMMIT;')
    return db


def engine_tap(what):
    """A Tap for an end-to-end test of the engine under yate-sim; skips the whole
    test (one line naming @what) when yate-sim or conf-engine is not built."""
    tap = Tap()
    if not os.path.exists(YATE_SIM) or not os.path.exists(ENGINE[0]):
        tap.skip(what, 'yate-sim or conf-engine not built')
        tap.done()
    return tap
