"""faultlib.py - what the fault-injection tests share: a simulator run they act on while it goes on,
a small real filesystem to fill, the engine's CPU time, and checks of what a fault may leave behind.

Standard library only; builds on tests/sim/simlib.py (scenarios, Tap, audio)
and, for the real-Yate runs, tests/yate/yatelib.py.  Every wait is bounded.

    import faultlib
    tap = faultlib.Tap()
    sim = faultlib.Sim(SCENARIO, conf=CONF)            # yate-sim running conf-engine
    sim.wait('log', text='free')                       # the scenario reached its marker
    pid = sim.engine_pid()
    r = sim.finish()                                   # a simlib.Result
    ok, why = faultlib.wav_ok(path)                    # header matches what the file holds
"""
import contextlib
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import wave

SRCDIR = os.environ.get('CE_SRCDIR') or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRCDIR, 'tests', 'sim'))
sys.path.insert(0, os.path.join(SRCDIR, 'tests', 'yate'))
import simlib  # noqa: E402

WAIT = 30.0  # bound of a single wait (sanitizer builds are slow)
CI = os.environ.get('CI') == 'true'


class Tap(simlib.Tap):
    """simlib's TAP writer, with skip_all()."""

    def skip_all(self, why):
        """Skip the whole test with one reason (a failure under CI=true)."""
        if CI:
            self.ok(False, 'CI=true: this test may not be skipped', why)
        else:
            self.skip('the whole test', why)
        self.done()


def built():
    """Why the suite cannot run (None when yate-sim and conf-engine are built)."""
    for path in (simlib.YATE_SIM, simlib.ENGINE[0]):
        if not os.access(path, os.X_OK):
            return '%s is not built' % path
    return None


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


def seeded_random(name):
    """A random.Random seeded from CE_FAULT_SEED or the clock; the seed is printed so a run replays."""
    seed = os.environ.get('CE_FAULT_SEED') or str(int(time.time() * 1000) % 1000000007)
    print('# %s: seed %s (replay with CE_FAULT_SEED=%s)' % (name, seed, seed))
    sys.stdout.flush()
    return random.Random(int(seed))


# ---- a simulator run the test acts on ----------------------------------------

class Sim:
    """yate-sim running conf-engine --config @conf on @scenario, in the background."""

    def __init__(self, scenario, conf=None, args=(), workdir=None, module=None):
        self.errpath = None
        if module is None:
            module = simlib.ENGINE + (['--config', conf] if conf else [])
        workdir = workdir or tempfile.mkdtemp(prefix='ce-faults-')
        self.errpath = os.path.join(workdir, 'yate-sim.stderr')
        self.errf = open(self.errpath, 'wb')
        self.p, self.workdir = simlib.spawn(scenario, module, args, workdir, stderr=self.errf)
        self.evpath = os.path.join(self.workdir, 'events.jsonl')

    def events(self, ev=None, **fields):
        """The events logged so far (a line still being written is left for later)."""
        out = []
        try:
            with open(self.evpath, encoding='utf-8') as f:
                text = f.read()
        except OSError:
            return out
        for line in text.split('\n')[:-1]:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if (ev is None or e.get('ev') == ev) and \
                    all(str(e.get(k)) == str(v) for k, v in fields.items()):
                out.append(e)
        return out

    def wait(self, ev, timeout=WAIT, count=1, **fields):
        """The @count-th event @ev with these fields, or None once @timeout passed or the run ended."""
        end = time.monotonic() + timeout
        while True:
            got = self.events(ev, **fields)
            if len(got) >= count:
                return got[count - 1]
            if time.monotonic() > end or self.p.poll() is not None:
                return None
            time.sleep(0.02)

    def engine_pid(self, count=1):
        """The pid of the @count-th engine the simulator started (restarts count), or None."""
        e = self.wait('engine-start', count=count)
        return e and e.get('pid')

    def finish(self, timeout=120):
        """Wait for the simulator's end (bounded); the run as a simlib.Result."""
        try:
            code = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            code = -9
        self.errf.close()
        with open(self.errpath, encoding='utf-8', errors='replace') as f:
            err = f.read()
        return simlib.Result(code, self.workdir, err)

    def act(self, *steps):
        """Run @steps, (marker, function) pairs in order: each function once the scenario
        logged its marker ('at T log MARKER'; skipped if the run ended first); then the
        run's end, as finish().  The simulator is killed whatever happens."""
        try:
            for marker, fn in steps:
                if self.wait('log', text=marker, timeout=120):
                    fn()
            return self.finish()
        finally:
            self.kill()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        if not self.errf.closed:
            self.errf.close()

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


def status(result, key, which=-1):
    """An integer field of the @which-th engine.status answer of a run's 'message engine.status' steps."""
    answers = [m['retval'] for m in result.messages('engine.status') if m.get('retval')]
    if not answers:
        return None
    m = re.search(r'(?:^|[,;\s])' + re.escape(key) + r'=(\d+)', answers[which])
    return int(m.group(1)) if m else None


def stderr_lines(result, text):
    """The engine's stderr lines (as the simulator logged them) that contain @text."""
    return [e.get('text', '') for e in result.events('stderr') if text in e.get('text', '')]


def cpu_seconds(pid):
    """User+system CPU seconds a live process used so far (None once it is gone)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    except (OSError, IndexError, ValueError):
        return None


# ---- a small real filesystem ---------------------------------------------------

@contextlib.contextmanager
def small_fs(size_kib):
    """A fresh filesystem of @size_kib KiB mounted on a new folder: tmpfs, else an ext2 loop file.

    Yields the mount point; unmounts and removes it whatever happens.
    Raises OSError with the reason when neither can be mounted (not root,
    no loop devices, no mke2fs): the caller skips, or fails under CI=true.
    """
    base = tempfile.mkdtemp(prefix='ce-fullfs-')
    mnt = os.path.join(base, 'mnt')
    os.mkdir(mnt)
    mounted, why = False, []
    try:
        p = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%dk,mode=0755' % size_kib,
                            'tmpfs', mnt], capture_output=True, text=True)
        mounted = p.returncode == 0
        if not mounted:
            why.append('tmpfs: ' + (p.stderr.strip() or 'mount failed'))
            img = os.path.join(base, 'fs.img')
            with open(img, 'wb') as f:
                f.truncate(max(size_kib, 64) * 1024)
            steps = (['mke2fs', '-q', '-F', '-m', '0', img],
                     ['mount', '-o', 'loop', img, mnt])
            for cmd in steps:
                try:
                    p = subprocess.run(cmd, capture_output=True, text=True)
                except OSError as e:
                    p = subprocess.CompletedProcess(cmd, 127, '', str(e))
                if p.returncode:
                    why.append('loop file: %s: %s' % (cmd[0], p.stderr.strip()))
                    break
            else:
                mounted = True
        if not mounted:
            raise OSError('cannot mount a small filesystem (' + '; '.join(why) + ')')
        yield mnt
    finally:
        if mounted:
            subprocess.run(['umount', '-l', mnt], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def fill(mnt, leave_bytes, name='filler'):
    """Fill the filesystem at @mnt so that about @leave_bytes stay free; the filler's path."""
    path = os.path.join(mnt, name)
    st = os.statvfs(mnt)
    free = st.f_bavail * st.f_frsize
    with open(path, 'wb') as f:
        f.write(b'\0' * max(0, free - leave_bytes))
        f.flush()
        os.fsync(f.fileno())
    return path


def free_bytes(mnt):
    st = os.statvfs(mnt)
    return st.f_bavail * st.f_frsize


# ---- what a fault may leave behind ---------------------------------------------

def wav_ok(path, slack=0):
    """(ok, detail): a RIFF/WAVE file that Python's wave module reads to the end its header
    gives, whose header claims no more than the file holds, and at most @slack bytes less
    (0: exactly what it holds, as after a clean stop; a crash may leave the last second
    or so beyond the header, rewritten about once a second)."""
    try:
        size = os.path.getsize(path)
        with open(path, 'rb') as f:
            head = f.read(4096)
        if head[:4] != b'RIFF' or head[8:12] != b'WAVE':
            return False, '%s: not a RIFF/WAVE file (%d bytes)' % (path, size)
        with wave.open(path, 'rb') as w:
            frames = w.getnframes()
            width, ch = w.getsampwidth(), w.getnchannels()
            data = w.readframes(frames)
        if len(data) != frames * width * ch:
            return False, '%s: header says %d frames, %d bytes read' % (path, frames, len(data))
        off = 12
        while head[off:off + 4] not in (b'data', b''):
            off += 8 + int.from_bytes(head[off + 4:off + 8], 'little')
        beyond = size - len(data) - (off + 8)
        detail = '%s: %d frames, %d bytes, %d beyond the header\'s count' % (
            path, frames, size, beyond)
        return 0 <= beyond <= slack, detail
    except (OSError, EOFError, wave.Error) as e:
        return False, '%s: %s' % (path, e)


def jsonl_check(path):
    """(objects, broken lines) of a JSON-lines file; a last line without its newline is broken."""
    objs, broken = [], []
    try:
        with open(path, 'rb') as f:
            text = f.read()
    except OSError:
        return objs, broken
    lines = text.split(b'\n')
    if lines and lines[-1] != b'':
        broken.append(lines[-1][:200])
    for line in lines[:-1]:
        try:
            o = json.loads(line)
            if not isinstance(o, dict):
                raise ValueError
            objs.append(o)
        except ValueError:
            broken.append(line[:200])
    return objs, broken


def db_rows(path, sql, args=()):
    """Rows of @sql on the SQLite file @path (None when it cannot be read now)."""
    try:
        c = sqlite3.connect(path, timeout=2)
        try:
            return c.execute(sql, args).fetchall()
        finally:
            c.close()
    except sqlite3.Error:
        return None


def schedule_db(path, sql, args=()):
    """A fresh SQLite file at @path with the engine's schema (sql/sqlite/), then @sql run on it."""
    db = simlib.sqlite_db(path)
    db.execute(sql, args)
    db.commit()
    db.close()


def doubled(rows):
    """The keys in @rows (tuples) that occur more than once."""
    seen, twice = set(), set()
    for r in rows or ():
        (twice if r in seen else seen).add(r)
    return sorted(twice, key=repr)


LOCKER = '''
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
c.execute("COMMIT")
c.close()
'''


class Locker:
    """Another process holding BEGIN EXCLUSIVE on an SQLite file until release()."""

    def __init__(self, path):
        self.p = subprocess.Popen([sys.executable, '-c', LOCKER, path], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        self.locked = self.p.stdout.readline().strip() == 'locked'

    def release(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.write('release\n')
                self.p.stdin.flush()
                self.p.wait(timeout=WAIT)
            except (OSError, subprocess.TimeoutExpired):
                self.p.kill()
                self.p.wait()

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
