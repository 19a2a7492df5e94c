"""yatelib.py - a private, real Yate 6.4.1 for the tests, with conf-engine attached as Yate attaches it.

Standard library only.  Typical use in a test that prints TAP:

    import yatelib
    tap = yatelib.Tap()
    y = yatelib.require(tap)                 # the built Yate, or skip / fail in CI
    with yatelib.Yate(y, 'mixminus', routes=['^80\\(.\\)$=conf/r\\1']) as yt:
        d = yt.driver()                      # a script on Yate's extmodule socket
        a = d.call('800', play=speech, record=yt.path('a.slin'))
        ...
        tap.ok(..., 'what happened', yt.log_tail())

What Yate gets (all in a fresh folder, nothing on the system is touched):
yate.conf loading exactly the modules named, rmanager on a free loopback
port, extmodule.conf with conf-engine under `[scripts]` (the value given,
exactly as an operator writes it) and a unix `[listener test]` for the
test's own script, regexroute.conf with the routes given, ysipchan on a free
loopback UDP port, yrtpchan on loopback.  A route may name that SIP
listener as {sip}, so that a call goes out over SIP and comes back in as an
incoming sip/N channel (test-yate-vs-sim.py routes 98NN that way).  With
transcript=True the engine runs under tee-module.py, which writes every
protocol line it exchanges with Yate (E:/A:, as yate-sim -t) to
Yate.transcript.  Yate's log is kept in the build folder
(tests/yate/logs/NAME/) when a check failed or CE_KEEP_LOGS is set.

An engine that runs as its own service instead (--connect):

    with yatelib.Yate(y, 'svc', start_engine=False, engine_listener='') as yt:
        yt.connect_engine()                  # conf-engine --connect unix:<yt.ce_sock>
        ...
        yt.restart(kill=True, pause=5)       # SIGKILL, 5 s without Yate, the same Yate again

engine_listener adds a `[listener ce]` unix socket (its value is the role=,
'' for none); halt()/start()/restart() stop and start the same Yate (same
folder, configuration, ports, log appended); the engine's stderr is in
engine_log (conf-engine.log in the folder).

The Yate binary comes from tools/build-yate.sh (built once per machine from
../shared/yate/, cached by the tarball's SHA-256) or $CE_YATE_PREFIX.  When
there is none, require() skips the whole test with one clear line, or fails
it when $CI is set: CI never skips the real router.
"""
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'sim'))
import simlib  # noqa: E402  (TAP, the protocol escaping, the script side, audio analysis)

SRCDIR = simlib.SRCDIR
BUILDDIR = simlib.BUILDDIR
ENGINE = simlib.ENGINE[0]
TEE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'tee-module.py')
Tap = simlib.Tap
WAIT = 20.0  # bound of every wait; generous for sanitizer builds, never reached when all is well

# A sanitizer build of the engine reports on its stderr, which Yate (-l) writes into its
# log, and conf-engine --connect into engine_log: any such line fails the test.
SANITIZER_RE = re.compile(
    r'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer|runtime error:')
SANITIZER_REPORTS = []  # "NAME: line" of every Yate stopped so far, for Checked.done()
STOPPED = []            # names of the Yates stopped so far

MODULES = ('rmanager', 'extmodule', 'regexroute', 'ysipchan', 'yrtpchan', 'dumbchan',
           'tonegen', 'wavefile', 'conference')


def prefix():
    """(prefix, None) of a built Yate, or (None, why not)."""
    p = os.environ.get('CE_YATE_PREFIX')
    if p:
        if os.access(os.path.join(p, 'bin', 'yate'), os.X_OK):
            return p, None
        return None, 'CE_YATE_PREFIX=%s has no bin/yate' % p
    script = os.path.join(SRCDIR, 'tools', 'build-yate.sh')
    try:
        r = subprocess.run(['sh', script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=1800)
    except subprocess.TimeoutExpired:
        return None, 'tools/build-yate.sh took over 30 minutes'
    if r.returncode == 0:
        return r.stdout.decode().strip().splitlines()[-1], None
    why = r.stderr.decode('utf-8', 'replace').strip().splitlines()
    return None, (why[-1] if why else 'tools/build-yate.sh exited %d' % r.returncode)


def require(tap, what='real Yate 6.4.1'):
    """The Yate prefix; without one the test skips (exit 0), or fails when $CI is set."""
    if not os.access(ENGINE, os.X_OK):
        print('1..0 # SKIP conf-engine is not built')
        sys.exit(0)
    p, why = prefix()
    if p:
        return p
    if os.environ.get('CI'):
        tap.ok(False, '%s is available (CI never skips the real router)' % what, why)
        tap.done()
    print('1..0 # SKIP no %s: %s' % (what, why))
    sys.exit(0)


def free_port(kind=socket.SOCK_STREAM):
    """A port the kernel just gave out on 127.0.0.1 (TCP or UDP)."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout=WAIT, step=0.05):
    """Poll @pred until it returns a true value (returned) or @timeout passes (None)."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            return None
        time.sleep(step)


class Rmanager:
    """Yate's remote console over TCP: one command, its output."""

    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=WAIT)
        self.buf = b''
        self.read_quiet(0.3)  # the banner

    def read_quiet(self, quiet, limit=WAIT):
        """Everything received until nothing came for @quiet seconds."""
        out = b''
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if not select.select([self.sock], [], [], quiet)[0]:
                break
            data = self.sock.recv(65536)
            if not data:
                break
            out += data
        return out.decode('utf-8', 'replace')

    def cmd(self, text, until=None, timeout=WAIT):
        """Send @text; return the output up to a match of regex @until (or a quiet moment)."""
        self.sock.sendall(text.encode() + b'\r\n')
        if until is None:
            return self.read_quiet(0.4, timeout)
        out = ''
        end = time.monotonic() + timeout
        while time.monotonic() < end and not re.search(until, out):
            out += self.read_quiet(0.2, max(0.2, end - time.monotonic()))
        return out

    def close(self):
        try:
            self.sock.sendall(b'quit\r\n')
        except OSError:
            pass
        self.sock.close()


class Driver(simlib.Module):
    """The test's own global script on Yate's extmodule socket: places calls, drops them, watches."""

    def __init__(self, path):
        super().__init__(path, timeout=WAIT)
        self.reports = []   # watched messages: simlib.Line
        self.answers = {}   # id -> answer line

    def pump(self, timeout=0.1):
        """Read what is there; keep watcher reports and answers; refuse Yate's requests."""
        line = self.read(timeout)
        while line is not None:
            if line.kind == '<message' and not line.id:
                self.reports.append(line)
            elif line.kind == '<message':
                self.answers[line.id] = line
            elif line.kind == '>message':
                self.answer(line, False)
            line = self.read(0)

    def request(self, name, params, timeout=WAIT):
        """Dispatch @name in Yate and wait for its answer (a simlib.Line, or None)."""
        mid = self.message(name, list(params.items()) if isinstance(params, dict) else params)
        end = time.monotonic() + timeout
        while mid not in self.answers and time.monotonic() < end:
            self.pump(0.1)
        return self.answers.pop(mid, None)

    def watch(self, *names):
        for n in names:
            self.send('%%>watch:' + n)

    def call(self, target, play=None, record=None, caller=None, callto=None, **params):
        """A real Yate channel that calls @target: wave/play of @play (raw 8 kHz s16 .slin;
        silence when None) recording what it hears to @record, or the channel @callto
        (tone/dial, ...).  Returns the channel's id (wave/N) or None, and the answer line."""
        p = {'callto': callto or 'wave/play/' + (play or '/dev/zero'), 'target': target,
             'caller': caller or 'test'}
        if record:
            p['consumer'] = 'wave/record/' + record
        p.update({k: str(v) for k, v in params.items()})
        ans = self.request('call.execute', p)
        if ans is None or not ans.handled:
            return None, ans
        return ans.get('id'), ans

    def drop(self, chan, reason='hangup'):
        return self.request('call.drop', {'id': chan, 'reason': reason})

    def reports_of(self, name, **params):
        """Watcher reports of @name whose parameters include @params."""
        self.pump(0)
        return [l for l in self.reports if l.name == name and
                all(l.get(k) == str(v) for k, v in params.items())]

    def wait_users(self, target, n):
        """The last joined/left chan.notify to @target says @n users (bounded)."""
        def last():
            r = [l for l in self.reports_of('chan.notify', targetid=target)
                 if l.get('event') in ('joined', 'left')]
            return r and r[-1].get('users') == str(n)
        return bool(wait_for(last))

    def wait_seen(self, name, timeout=WAIT, **params):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r = self.reports_of(name, **params)
            if r:
                return r
            self.pump(0.1)
        return []


# Yate 6.4.1's extmodule logs "Executing script ..." from the forked child,
# before exec, when its debug level reaches INFO (9): that takes Yate's
# output lock, which another Yate thread may have held at the fork, and
# the child then hangs for good without ever running conf-engine (seen
# once in a loaded CI run: no "Executing" line, no engine output, "process
# has not exited on closing stdin").  Below INFO the child logs nothing;
# everything else still logs at -vvvv.
EXTMODULE_DEBUG = '[debug]\nextmodule=level 8\n'


class Yate:
    """One private Yate with conf-engine under [scripts]; a context manager."""

    def __init__(self, prefix, name, engine='', engine_conf='', routes=(), modules=MODULES,
                 ext_general='', extra_conf=None, start_engine=True, engine_listener=None,
                 transcript=False, sip_general=''):
        """@engine_listener: None, or the role= of an extra `[listener ce]` unix socket
        (self.ce_sock; '' writes no role= line) for an engine that the test starts itself
        with connect_engine() (pass start_engine=False to leave [scripts] empty).
        @routes may name Yate's own SIP listener as {sip} (127.0.0.1:PORT), so that a
        call can go out over SIP and come back in as an incoming sip/N channel.  With
        @transcript the engine runs under tee-module.py, which writes every protocol line
        it exchanges to self.transcript (E:/A: lines, as yate-sim -t).  @sip_general: lines
        for ysipchan.conf's [general] (e.g. 'forward_sdp=yes\n')."""
        self.prefix = prefix
        self.name = name
        self.dir = tempfile.mkdtemp(prefix='ce-yate-%s-' % name)
        self.confdir = os.path.join(self.dir, 'conf')
        os.mkdir(self.confdir)
        self.log = os.path.join(self.dir, 'yate.log')
        self.rm_port = free_port()
        self.sip_port = free_port(socket.SOCK_DGRAM)
        self.ext_sock = os.path.join(self.dir, 'ext.sock')
        self.ce_sock = os.path.join(self.dir, 'ce.sock')
        self.engine_conf = os.path.join(self.dir, 'conf-engine.conf')
        self.engine_log = os.path.join(self.dir, 'conf-engine.log')
        self.failed = False
        self.proc = None
        self.engine = None  # the conf-engine of connect_engine()
        self.starts = 0     # how many times this Yate was started
        self._rm = None
        self.drivers = []
        listener = ''
        if engine_listener is not None:
            listener = '[listener ce]\ntype=unix\npath=%s\n%s' % (
                self.ce_sock, 'role=%s\n' % engine_listener if engine_listener else '')
        self.transcript = self.path('transcript.txt') if transcript else None
        script = TEE if transcript else ENGINE
        with open(self.engine_conf, 'w') as f:
            f.write(self.default_engine_conf() + engine_conf)
        files = {
            'yate.conf': '[general]\nmodload=disable\n[modules]\n' +
                         ''.join('%s.yate=yes\n' % m for m in modules) + EXTMODULE_DEBUG,
            'rmanager.conf': '[general]\naddr=127.0.0.1\nport=%d\n' % self.rm_port,
            'extmodule.conf': '[general]\n%s\n[scripts]\n%s\n[listener test]\ntype=unix\npath=%s\n%s' % (
                ext_general, ('%s=%s' % (script, engine.format(conf=self.engine_conf, dir=self.dir))
                              if start_engine else ''), self.ext_sock, listener),
            'regexroute.conf': self._regexroute(routes),
            'ysipchan.conf': '[general]\n%s[listener general]\ntype=udp\naddr=127.0.0.1\n'
                             'port=%d\n' % (sip_general, self.sip_port),
            'yrtpchan.conf': '[general]\nlocalip=127.0.0.1\n',
        }
        files.update(extra_conf or {})
        with open(self.path('dialplan.conf'), 'w') as f:
            f.write('[default]\n')
        for fname, text in files.items():
            with open(os.path.join(self.confdir, fname), 'w') as f:
                f.write(text)

    def _regexroute(self, routes):
        return '[default]\n' + ''.join(
            r.replace('{sip}', '127.0.0.1:%d' % self.sip_port) + '\n' for r in routes)

    def set_routes(self, routes):
        """Replace regexroute.conf's rules (as @routes of the constructor), for routes that
        need something known only after construction (a phone's port): call it before
        start(), or follow it with a `reload` on the console."""
        with open(os.path.join(self.confdir, 'regexroute.conf'), 'w') as f:
            f.write(self._regexroute(routes))

    def default_engine_conf(self):
        """conf-engine's configuration: everything it writes stays in this Yate's folder."""
        return ('[general]\nstate_dir=%s\n[store]\nbackend=sqlite\nsqlite_path=%s\n'
                '[monitor]\nevent_log=%s\n[dialplan]\nfile=%s\n'
                % (os.path.join(self.dir, 'state'), os.path.join(self.dir, 'conf-engine.db'),
                   os.path.join(self.dir, 'events.jsonl'), os.path.join(self.dir, 'dialplan.conf')))

    def path(self, name):
        return os.path.join(self.dir, name)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, et, ev, tb):
        if et is not None:
            self.failed = True
        self.stop()
        return False

    def start(self):
        """Start Yate (again, after halt(): same folder, configuration and ports)."""
        self.starts += 1
        env = dict(os.environ)
        env['LD_LIBRARY_PATH'] = os.path.join(self.prefix, 'lib')
        if self.transcript:
            env['CE_TEE_ENGINE'] = ENGINE
            env['CE_TEE_TRANSCRIPT'] = self.transcript
        self.proc = subprocess.Popen(
            [os.path.join(self.prefix, 'bin', 'yate'), '-c', self.confdir,
             '-m', os.path.join(self.prefix, 'lib', 'yate'),
             '-e', os.path.join(self.prefix, 'share', 'yate'), '-vvvv', '-l', self.log],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd=self.dir, env=env, start_new_session=True)
        ok = wait_for(lambda: self.proc.poll() is not None or self._try_rm())
        if not ok or self.proc.poll() is not None:
            self.failed = True
            raise RuntimeError('Yate did not start (log: %s)\n%s' % (self.log, self.log_tail()))

    def _try_rm(self):
        try:
            self._rm = Rmanager(self.rm_port)
            return True
        except OSError:
            return False

    def yrtp_chans(self):
        """Yate's RTP sessions now (status yrtp: chans=N), or None if it did not say."""
        m = re.search(r'chans=(\d+)', self.rm('status yrtp'))
        return int(m.group(1)) if m else None

    def rm(self, text, until=None, timeout=WAIT):
        """One rmanager command's output."""
        return self._rm.cmd(text, until, timeout)

    def room_listed(self, room, users):
        """`conf list` if it shows conf/@room with @users users, else None."""
        out = self.rm('conf list')
        return out if re.search(r'name=conf/%s,[^\r\n]*users=%d' % (room, users), out) else None

    def engine_status(self):
        """conf-engine's line of `status conf-engine` ('' while it is not attached)."""
        out = self.rm('status conf-engine', until=r'\r\n', timeout=3)
        m = re.search(r'name=conf-engine[^\r\n]*', out)
        return m.group(0) if m else ''

    def wait_engine(self, timeout=WAIT):
        """True once conf-engine answers Yate's console."""
        return bool(wait_for(self.engine_status, timeout, 0.2))

    def engine_pids(self):
        """Pids of conf-engine processes that are this Yate's children."""
        out = subprocess.run(['pgrep', '-P', str(self.proc.pid)], stdout=subprocess.PIPE)
        pids = []
        for p in out.stdout.split():
            try:
                with open('/proc/%s/cmdline' % p.decode(), 'rb') as f:
                    if os.path.basename(f.read().split(b'\0')[0]).startswith(b'conf-engine'):
                        pids.append(int(p))
            except OSError:
                pass
        return pids

    def driver(self):
        """A new global script on the extmodule listener."""
        wait_for(lambda: os.path.exists(self.ext_sock))
        d = Driver(self.ext_sock)
        self.drivers.append(d)
        return d

    def log_text(self):
        try:
            with open(self.log, encoding='utf-8', errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def log_tail(self, n=40):
        return '\n'.join(self.log_text().splitlines()[-n:])

    def transcript_lines(self):
        """The engine's protocol lines so far: (direction 'E' or 'A', text), as simlib reads
        yate-sim's transcript (needs transcript=True)."""
        out = []
        try:
            with open(self.transcript, encoding='utf-8', errors='replace') as f:
                for line in f:
                    if line[1:3] == ': ':
                        out.append((line[0], line[3:].rstrip('\n')))
        except (OSError, TypeError):
            pass
        return out

    def events(self):
        """conf-engine's event log (JSON lines), parsed."""
        import json
        out = []
        try:
            with open(self.path('events.jsonl'), encoding='utf-8') as f:
                for line in f:
                    if line.strip():
                        out.append(json.loads(line))
        except OSError:
            pass
        return out

    def halt(self, kill=False):
        """Stop Yate and nothing else: SIGTERM (a clean stop), or SIGKILL with @kill (a
        crash: Yate's children, and the unix socket files, stay).  The test's drivers and
        console are closed; start() brings the same Yate back.  True once it is gone."""
        for d in self.drivers:
            d.close()
        self.drivers = []
        if self._rm:
            self._rm.close()
            self._rm = None
        if not self.proc or self.proc.poll() is not None:
            return True
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.proc.wait(WAIT)
            return True
        except subprocess.TimeoutExpired:
            self.failed = True
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            return False

    def restart(self, kill=False, pause=0):
        """halt(@kill), @pause seconds without Yate, start() again."""
        gone = self.halt(kill)
        time.sleep(pause)
        self.start()
        return gone

    def connect_engine(self, *args):
        """Start conf-engine with this Yate's engine configuration and --connect to
        self.ce_sock (the Yate needs engine_listener); its stderr goes to self.engine_log.
        The engine is stopped by stop(); returns its Popen."""
        log = open(self.engine_log, 'ab')
        self.engine = subprocess.Popen(
            [ENGINE, '--config', self.engine_conf, '--connect', 'unix:' + self.ce_sock] +
            list(args), stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.dir,
            start_new_session=True)
        log.close()
        return self.engine

    def engine_log_text(self):
        try:
            with open(self.engine_log, encoding='utf-8', errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def sanitizer_reports(self):
        """Sanitizer report lines (and UBSan's 'runtime error:') in Yate's log, where the
        engine's stderr goes under [scripts], and in engine_log (connect_engine())."""
        return [l for l in (self.log_text() + '\n' + self.engine_log_text()).splitlines()
                if SANITIZER_RE.search(l)]

    def stop(self):
        self.halt()
        if self.engine and self.engine.poll() is None:
            self.engine.send_signal(signal.SIGTERM)
            try:
                self.engine.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.failed = True
                self.engine.kill()
                self.engine.wait()
        # whatever Yate left running (conf-engine when Yate died first)
        subprocess.run(['pkill', '-9', '-f', self.engine_conf], stderr=subprocess.DEVNULL)
        reports = self.sanitizer_reports()
        if reports:
            self.failed = True
            SANITIZER_REPORTS.extend('%s: %s' % (self.name, l) for l in reports)
        STOPPED.append(self.name)
        if self.failed or os.environ.get('CE_KEEP_LOGS'):
            keep = os.path.join(BUILDDIR, 'tests', 'yate', 'logs', self.name)
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(self.dir, keep, ignore=shutil.ignore_patterns('*.sock'),
                            dirs_exist_ok=True)
            print('# Yate log and files kept in %s' % keep)
        shutil.rmtree(self.dir, ignore_errors=True)


class Checked(Tap):
    """TAP whose failures mark the Yate in use, so its log is kept."""

    def __init__(self):
        super().__init__()
        self.yate = None

    def ok(self, cond, name, diag=None):
        if not cond and self.yate is not None:
            self.yate.failed = True
        return super().ok(cond, name, diag)

    def must(self, cond, name, diag=None):
        """A check the rest of the test stands on: when it fails, the test ends there."""
        if not self.ok(cond, name, diag):
            self.done()

    def done(self):
        """One more check before the plan: no sanitizer report from any Yate's engine."""
        if STOPPED:
            self.ok(not SANITIZER_REPORTS, 'no sanitizer report in the logs of %d Yate run%s'
                    % (len(STOPPED), 's' if len(STOPPED) > 1 else ''),
                    '\n'.join(SANITIZER_REPORTS[:40]))
        super().done()


# ---- audio ----------------------------------------------------------------------

RATE = 8000


def write_slin(path, samples):
    """Raw 8 kHz signed 16-bit little-endian, Yate's .slin."""
    with open(path, 'wb') as f:
        f.write(b''.join(int(max(-32768, min(32767, s))).to_bytes(2, 'little', signed=True)
                         for s in samples))


def read_slin(path):
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except OSError:
        return []
    return [int.from_bytes(raw[i:i + 2], 'little', signed=True) for i in range(0, len(raw) - 1, 2)]


def tone(freq, seconds, dbfs=-16.0):
    import math
    amp = 32768 * 10 ** (dbfs / 20)
    return [amp * math.sin(2 * math.pi * freq * i / RATE) for i in range(int(seconds * RATE))]


def bursts(freq, seconds):
    """Tone bursts (0.6 s on, 0.4 s off) at -16 dBFS: what a talker looks like to a level
    meter (simlib.beeps)."""
    return simlib.beeps(freq, int(seconds), on=0.6, off=0.4, amplitude=10 ** (-16 / 20.0))


def speech_slin(dest, seconds=None):
    """tests/data/sim/speech.wav as .slin at @dest (repeated to @seconds when given)."""
    rate, s = simlib.read_wav(simlib.data('speech.wav'))
    if rate != RATE:
        raise ValueError('speech.wav is not 8 kHz')
    if seconds:
        n = int(seconds * RATE)
        s = (s * (n // max(1, len(s)) + 1))[:n]
    write_slin(dest, s)
    return dest


def heard(samples, freq, start=None, end=None):
    """Share of the energy at @freq in a window of a recording (0..1)."""
    if start is not None:
        samples = simlib.window(samples, start, end if end is not None else len(samples) / RATE)
    return simlib.tone_ratio(samples, freq)
