#!/usr/bin/env python3
"""test-binary.py - the real conf-engine binary against a scripted Yate: pipes, signals, sockets.

Prints TAP.  Every wait is bounded; nothing asserts on timing.
"""
import os
import queue
import re
import signal
import socket
import shutil
import subprocess
import sys
import tempfile
import threading
import time

SRCDIR = os.environ.get("CE_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILDDIR = os.environ.get("CE_BUILDDIR", SRCDIR)
BINARY = os.path.join(BUILDDIR, "conf-engine", "conf-engine")
TRANSCRIPT = os.path.join(SRCDIR, "tests", "data", "transcript-1.txt")
WAIT = 10.0  # bound of every wait (sanitizer builds are slow); never reached when all is well

sys.path.insert(0, os.path.join(SRCDIR, "tests", "faults"))
from faultlib import cpu_seconds  # noqa: E402

results = []

# A sanitizer build reports on stderr and leaves with a status (ASan/UBSan 1,
# LeakSanitizer 23); any report on an engine's stderr fails the run (checked at the end).
SANITIZER_RE = re.compile(
    r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer|runtime error:")
sanitizer_reports = []


def note_sanitizer(where, text):
    """Keep the sanitizer report lines of an engine's stderr @text."""
    sanitizer_reports.extend("%s: %s" % (where, l) for l in text.splitlines()
                             if SANITIZER_RE.search(l))


def tap(ok, name, diag=""):
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name))
    if diag and not ok:
        for line in str(diag).splitlines()[-30:]:
            print("# " + line)
    sys.stdout.flush()


class Reader(threading.Thread):
    """Collects the lines of a byte stream into a queue (and a list)."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream = stream
        self.q = queue.Queue()
        self.all = []

    def run(self):
        for raw in iter(self.stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.all.append(line)
            self.q.put(line)
        self.q.put(None)

    def next(self, timeout=WAIT):
        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            return None

    def until(self, pred, timeout=WAIT):
        """Lines up to and including the first one matching pred (None if it never came)."""
        seen = []
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None, seen
            line = self.next(left)
            if line is None:
                return None, seen
            seen.append(line)
            if pred(line):
                return line, seen


class Engine:
    def __init__(self, *args, stdin=True):
        self.p = subprocess.Popen([BINARY] + list(args), stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = Reader(self.p.stdout)
        self.err = Reader(self.p.stderr)
        self.out.start()
        self.err.start()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def say(self, line):
        self.send(line + "\n")

    def wait(self, timeout=WAIT):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return "timeout"

    def stderr_text(self):
        self.err.join(timeout=WAIT)
        return "\n".join(self.err.all)

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()
        self.err.join(timeout=WAIT)
        note_sanitizer(" ".join(self.p.args[1:]) or "conf-engine", "\n".join(self.err.all))
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            if f:
                f.close()


STARTUP_RE = [
    re.compile(r"^%%>setlocal:[^:]+:[^:]*$"),
    re.compile(r"^%%>install:\d*:[^:]+(:[^:]+(:[^:]*)?)?$"),
    re.compile(r"^%%>watch:[^:]+$"),
]


def startup_lines(reader):
    """The lines written before the engine has anything else to say: up to a quiet moment."""
    lines = []
    first = reader.next()
    if first is None:
        return lines
    lines.append(first)
    while True:
        line = reader.next(timeout=0.5)
        if line is None:
            return lines
        lines.append(line)


def transcript_lines():
    with open(TRANSCRIPT, encoding="utf-8") as f:
        return [l[3:].rstrip("\n") for l in f if l.startswith("E: ")]


def msg_id(line):
    return line.split(":", 2)[1]


def answer_ids(lines):
    return [msg_id(l) for l in lines if l.startswith("%%<message:")]


def test_startup_and_transcript():
    e = Engine()
    try:
        start = startup_lines(e.out)
        tap(start[:2] == ["%%>setlocal:restart:true", "%%>setlocal:engine.version:"],
            "startup begins with setlocal restart and engine.version", "\n".join(start))
        bad = [l for l in start if not any(r.match(l) for r in STARTUP_RE)]
        tap(not bad and len(start) >= 2, "startup lines are well-formed setlocal/install/watch",
            "\n".join(bad or start))
        installs = [l.split(":")[2] for l in start if l.startswith("%%>install:")]
        tap(len(installs) == len(set(installs)), "each message name installed once", "\n".join(installs))

        sent = []
        for line in transcript_lines():
            if line.startswith("%%>message:"):
                sent.append(msg_id(line))
            e.say(line)
        e.say("%%>message:sentinel.1:1795326800:test.sentinel::")
        sent.append("sentinel.1")
        got = []
        end = time.monotonic() + WAIT
        while not set(sent) <= set(got) and time.monotonic() < end:
            line = e.out.next(timeout=max(0.01, end - time.monotonic()))
            if line is None:
                break
            if line.startswith("%%<message:"):
                got.append(msg_id(line))
        # anything still in flight after the last answer would be a duplicate
        while True:
            line = e.out.next(timeout=0.3)
            if line is None:
                break
            if line.startswith("%%<message:"):
                got.append(msg_id(line))
        missing = set(sent) - set(got)
        dups = sorted({i for i in got if got.count(i) > 1})
        extra = sorted(set(got) - set(sent))
        tap(not missing, "every %%>message of transcript 1 is answered", "missing: %s" % sorted(missing))
        tap(not dups and not extra, "each answered exactly once with its own id",
            "dups: %s extra: %s" % (dups, extra))
        e.p.stdin.close()
        rc = e.wait()
        tap(rc == 0, "EOF on stdin: exit 0", "rc=%s\n%s" % (rc, e.stderr_text()))
        err = e.stderr_text()
        tap("Yate 6.4.1" in err, "learned Yate's version (logged)", err)
    finally:
        e.close()


def test_hostile_input():
    e = Engine()
    try:
        startup_lines(e.out)
        e.say("%%<setlocal:engine.version:6.4.1:true")
        long_msg = "%%>message:long%z1:1:x.y::p=" + "a" * 400000
        e.say(long_msg)
        # the answer must not wait for the end of the line: it comes before it
        e.send("%%>message:slow.1:1:x.y::p=" + "b" * 300000)
        slow, seen_slow = e.out.until(lambda l: l.startswith("%%<message:slow.1:"))
        e.send("b" * 1000 + "\n")
        tap(["%%<message:long%z1:false::", "%%<message:slow.1:false::"] ==
            [l for l in seen_slow if l.startswith("%%<message:")],
            "an over-long %%>message is answered false at once, its id as received",
            "\n".join(seen_slow))
        long_junk = "%%>watch:" + "w" * 300000
        e.say(long_junk)
        e.say("%%>message:stray.1:1:x.y::p=100%")
        e.send(bytes(range(256)) * 4 + b"\n")
        e.send(b"\x00\xff\xfe%%%\x01\x02\n")
        e.say("%%>message:many.1:1:x.y::" + ":".join("p%d=%d" % (i, i) for i in range(10000)))
        e.say("Error in: %%>install:zz:call.execute")
        e.say("%%>message:valid.1:1:call.execute::callto=tone/dial:target=800")
        line, seen = e.out.until(lambda l: l.startswith("%%<message:valid.1:"))
        tap(line is not None, "still answers a valid message after hostile input", "\n".join(seen))
        ids = answer_ids(seen)
        tap("stray.1" in ids and "many.1" in ids,
            "unparsable messages with a readable id are still answered (false)", "\n".join(seen))
        tap(not any(l.startswith("Error") or l.startswith("%%<message:long")
                    or l.startswith("%%<message:slow") or l.startswith("%%<watch") for l in seen),
            "Error in is never answered; over-long lines are dropped, answered only once",
            "\n".join(seen))
        e.p.stdin.close()
        rc = e.wait()
        err = e.stderr_text()
        tap(rc == 0, "exit 0 after hostile input", "rc=%s\n%s" % (rc, err))
        warns = [l for l in err.splitlines() if " WARN " in l]
        tap(len(warns) >= 5, "hostile lines logged as warnings (%d)" % len(warns), err)
        tap(all(len(l) < 2000 for l in err.splitlines()), "logged lines are truncated", "")
        tap(any("Error in" in l or "could not parse" in l for l in warns), "Error in logged", err)
        for what, n in (("long%z1", len(long_msg)), ("slow.1", 301027), ("", len(long_junk))):
            over = [l for l in warns if "of %d bytes" % n in l]
            tap(len(over) == 1 and what in over[0],
                "one warning for the over-long line %s, with its length" % (what or "without id"),
                "\n".join(l for l in warns if "bytes" in l))
    finally:
        e.close()


def test_sigterm():
    e = Engine()
    try:
        start = startup_lines(e.out)
        e.p.send_signal(signal.SIGTERM)
        line, seen = e.out.until(lambda l: l == "%%>quit")
        tap(line is not None and "%%>setlocal:restart:false" in seen,
            "SIGTERM: setlocal restart false, then %%>quit", "\n".join(seen))
        installed = {l.split(":")[2] for l in start if l.startswith("%%>install:")}
        before = seen[:seen.index("%%>setlocal:restart:false")] if line else []
        uninstalled = {l.split(":")[1] for l in before if l.startswith("%%>uninstall:")}
        tap(installed == uninstalled, "SIGTERM: modules stop (uninstalls) before leaving Yate",
            "\n".join(start + ["--"] + seen))
        e.say("%%<quit")
        rc = e.wait()
        tap(rc == 0, "SIGTERM: exit 0 after %%<quit", "rc=%s\n%s" % (rc, e.stderr_text()))
    finally:
        e.close()
    e = Engine()
    try:
        startup_lines(e.out)
        e.p.send_signal(signal.SIGTERM)
        rc = e.wait()
        tap(rc == 0, "SIGTERM without %%<quit: exit 0 after a bounded wait", "rc=%s" % rc)
    finally:
        e.close()


def test_connect_unix():
    tmp = tempfile.mkdtemp(prefix="ce-link-")
    path = os.path.join(tmp, "yate.sock")
    conf = os.path.join(tmp, "conf-engine.conf")
    with open(conf, "w") as f:
        f.write("[general]\nreconnect_min=100\nreconnect_max=400\n")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    srv.settimeout(WAIT)
    e = Engine("--config", conf, "--connect", "unix:" + path, stdin=False)
    conns = []
    try:
        def accept_and_read():
            c, _ = srv.accept()
            conns.append(c)
            c.settimeout(WAIT)
            r = Reader(c.makefile("rb"))
            r.start()
            return c, r

        c, r = accept_and_read()
        first = r.next()
        tap(first == "%%>connect:global", "socket link starts with %%>connect:global", first)
        start = startup_lines(r)
        tap(start[:1] == ["%%>setlocal:restart:true"], "then the session starts", "\n".join(start))
        c.sendall(b"%%>message:sock.1:1:x.y::\n")
        line, seen = r.until(lambda l: l.startswith("%%<message:sock.1:"))
        tap(line == "%%<message:sock.1:false::", "answers over the socket", "\n".join(seen))
        c.shutdown(socket.SHUT_RDWR)
        c.close()
        c2, r2 = accept_and_read()
        first = r2.next()
        start = startup_lines(r2)
        tap(first == "%%>connect:global" and start[:1] == ["%%>setlocal:restart:true"],
            "reconnects after the socket closed, and resyncs", "%s\n%s" % (first, "\n".join(start)))
        installs1 = sorted(l for l in start if l.startswith("%%>install"))
        tap(e.p.poll() is None, "engine survived the lost link", "")
        c2.sendall(b"%%>message:sock.2:1:x.y::\n")
        line, seen = r2.until(lambda l: l.startswith("%%<message:sock.2:"))
        tap(line is not None, "answers after reconnecting", "\n".join(seen + installs1))
        e.p.send_signal(signal.SIGTERM)
        line, seen = r2.until(lambda l: l == "%%>quit")
        tap(line is not None, "SIGTERM over the socket: %%>quit", "\n".join(seen))
        c2.sendall(b"%%<quit\n")
        rc = e.wait()
        err = e.stderr_text()
        tap(rc == 0, "socket mode: exit 0", "rc=%s\n%s" % (rc, err))
        tap("attempt" in err, "connection attempts are logged", err)
    except (socket.timeout, OSError) as ex:
        tap(False, "socket link: %s" % ex, e.stderr_text() if e.p.poll() is not None else "")
    finally:
        for c in conns:
            c.close()
        srv.close()
        e.close()
        for f in (path, conf):
            if os.path.exists(f):
                os.unlink(f)
        os.rmdir(tmp)


def test_log_to_yate():
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("[general]\nlog_to=yate\n[log]\nlevel=warn\n")
        conf = f.name
    e = Engine("--config", conf)
    try:
        startup_lines(e.out)
        e.say("%%>nonsense:here")
        line, seen = e.out.until(lambda l: l.startswith("%%>output:"))
        tap(line is not None and "WARN" in line and "nonsense" in line,
            "log_to=yate: a warning travels as %%>output", "\n".join(seen))
        e.p.stdin.close()
        rc = e.wait()
        tap(rc == 0, "log_to=yate: exit 0", "rc=%s" % rc)
    finally:
        e.close()
        os.unlink(conf)


def test_connect_tcp():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(WAIT)
    e = Engine("--connect", "tcp:127.0.0.1:%d" % srv.getsockname()[1], stdin=False)
    c = None
    try:
        c, _ = srv.accept()
        r = Reader(c.makefile("rb"))
        r.start()
        first = r.next()
        startup_lines(r)
        c.sendall(b"%%>message:tcp.1:1:x.y::a=1\n")
        line, seen = r.until(lambda l: l.startswith("%%<message:tcp.1:"))
        tap(first == "%%>connect:global" and line == "%%<message:tcp.1:false::",
            "tcp link: connect:global, then answers", "%s\n%s" % (first, "\n".join(seen)))
        e.p.send_signal(signal.SIGTERM)
        r.until(lambda l: l == "%%>quit")
        c.close()  # Yate gone instead of answering: the engine stops anyway
        rc = e.wait()
        tap(rc == 0, "tcp link: exit 0 when the link drops during quit", "rc=%s\n%s" % (rc, e.stderr_text()))
    except (socket.timeout, OSError) as ex:
        tap(False, "tcp link: %s" % ex)
    finally:
        if c:
            c.close()
        srv.close()
        e.close()


def test_options():
    p = subprocess.run([BINARY, "--version"], capture_output=True, timeout=WAIT)
    tap(p.returncode == 0 and p.stdout.startswith(b"conf-engine "), "--version", p.stdout)
    p = subprocess.run([BINARY, "--help"], capture_output=True, timeout=WAIT)
    tap(p.returncode == 0 and b"--connect" in p.stdout, "--help lists the options", p.stdout)
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("[general]\nrestart=true\n[log]\nlevel=warn\nthis line is broken\n")
        bad = f.name
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("[general]\nrestart=true\n[log]\nlevel=info\ndomain.ce-yate=debug\n")
        good = f.name
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("[log]\nlevel=loud\n")
        badlevel = f.name
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("[general]\n\nlog_to=syslog\n")
        badlogto = f.name
    try:
        p = subprocess.run([BINARY, "--check-config", "--config", bad], capture_output=True, timeout=WAIT)
        tap(p.returncode == 2 and (bad + ":5").encode() in p.stderr,
            "bad config: exit 2 with file:line", p.stderr)
        p = subprocess.run([BINARY, "--config", bad], capture_output=True, timeout=WAIT, stdin=subprocess.DEVNULL)
        tap(p.returncode == 2, "bad config refuses to start (exit 2)", p.stderr)
        p = subprocess.run([BINARY, "--check-config", "--config", badlevel], capture_output=True, timeout=WAIT)
        tap(p.returncode == 2 and (badlevel + ":2").encode() in p.stderr,
            "bad log level: exit 2 with file:line", p.stderr)
        p = subprocess.run([BINARY, "--check-config", "--config", badlogto], capture_output=True, timeout=WAIT)
        tap(p.returncode == 2 and (badlogto + ":3").encode() in p.stderr,
            "bad log_to: exit 2 with file:line", p.stderr)
        p = subprocess.run([BINARY, "--check-config", "--config", good], capture_output=True, timeout=WAIT)
        tap(p.returncode == 0, "good config: --check-config exit 0", p.stderr)
        p = subprocess.run([BINARY, "--check-config --config " + good], capture_output=True, timeout=WAIT)
        tap(p.returncode == 0 and good.encode() in p.stdout,
            "Yate's single [scripts] parameter is split into options", p.stdout + p.stderr)
        p = subprocess.run([BINARY, bad], capture_output=True, timeout=WAIT, stdin=subprocess.DEVNULL)
        tap(p.returncode == 2 and (bad + ":5").encode() in p.stderr,
            "a single non-option parameter is the configuration file", p.stderr)
        p = subprocess.run([BINARY, "--connect", "bogus"], capture_output=True, timeout=WAIT,
                           stdin=subprocess.DEVNULL)
        tap(p.returncode == 2 and b"unix:PATH" in p.stderr, "bad --connect: exit 2", p.stderr)
    finally:
        for n in (bad, good, badlevel, badlogto):
            os.unlink(n)


def test_check_config_modules():
    """--check-config also runs each module's own check: what would stop it at start."""
    d = tempfile.mkdtemp()
    try:
        def conf(name, text):
            path = os.path.join(d, name)
            with open(path, "w") as f:
                f.write(text)
            return path

        plan = os.path.join(d, "plan.conf")
        # (file, its text, the dialplan's text or None, exit code, what stderr names, what it shows)
        cases = [
            ("a.conf", "[dialplan]\nfile=plan.conf\n", "[default]\n^1$=conf/a\n^2$=echo hello\n", 2,
             [plan + ":3", "echo"], "an unsupported dialplan rule, exit 2 with the dialplan's file:line"),
            ("a.conf", "[dialplan]\nfile=plan.conf\n", "[default]\n^1$=conf/a\n", 0, [],
             "the mended dialplan passes"),
            ("b.conf", "[dialplan]\nfile=nowhere.conf\n", None, 2, ["nowhere.conf"],
             "a dialplan file that is named but absent, exit 2"),
            ("c.conf", "[dialplan]\nfile=nowhere.conf\npriority=0\n", None, 0, [],
             "a disabled dialplan is not read"),
            ("d.conf", "[store]\n\nbackend=mysql\n", None, 2, ["{}:3", "mysql"],
             "an unknown store backend, exit 2 with file:line"),
            ("e.conf", "[store]\nbackend=postgresql\npg_conninfo=host=db1 dbname='conf\n", None, 2,
             ["{}:3: pg_conninfo"], "a pg_conninfo libpq cannot parse, exit 2 with file:line"),
            ("f.conf", "[store]\nbackend=postgresql\npg_conninfo=host=db1 dbname=conf\n", None, 0, [],
             "a good pg_conninfo passes without connecting"),
            ("g.conf", "[monitor]\ntargets=conf-monitor/\nforward=conf-monitor/x\n", None, 2,
             ["{}:3", "would loop"], "a monitor forward that loops, exit 2 with file:line"),
        ]
        for name, text, plan_text, code, names, what in cases:
            path = conf(name, text)
            if plan_text is not None:
                conf("plan.conf", plan_text)
            p = subprocess.run([BINARY, "--check-config", "--config", path], capture_output=True, timeout=WAIT)
            ok = p.returncode == code and (code != 0 or b"OK" in p.stdout)
            ok = ok and all(n.format(path).encode() in p.stderr for n in names)
            tap(ok, "--check-config: " + what, p.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_yate_launch():
    """Started exactly as Yate starts a [scripts] entry: execl(PATH, PATH, VALUE), one argument."""
    d = tempfile.mkdtemp(prefix="ce launch ")  # a space in every path
    try:
        conf = os.path.join(d, "my engine.conf")
        with open(conf, "w") as f:
            f.write("[general]\nrestart=true\n")
        # (the one argument, what the test shows)
        cases = [
            ("", "an empty value (conf-engine=)"),
            ("   ", "a value of blanks"),
            ("--config '%s'" % conf, "--config with a quoted path holding spaces"),
            ('--config "%s" --log-level=info' % conf, "two options, double quotes"),
            (conf, "a bare configuration path with spaces"),
        ]
        for value, what in cases:
            e = Engine(value)
            lines = startup_lines(e.out)
            e.p.stdin.close()
            code = e.wait()
            err = e.stderr_text()
            ok = any(l.startswith("%%>setlocal:restart:") for l in lines) and code == 0
            tap(ok and "unexpected argument" not in err,
                "Yate's one argument: %s starts and leaves cleanly" % what, err)
            e.close()
        p = subprocess.run([BINARY, "--config '%s" % conf], capture_output=True, timeout=WAIT,
                           stdin=subprocess.DEVNULL)
        tap(p.returncode == 2 and b"cannot split" in p.stderr,
            "an unbalanced quote in Yate's argument: exit 2 and why", p.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def config_lines(stderr):
    """The review's lines ("conf-engine: configuration error/warning: ...") of a run's stderr."""
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    return [l for l in stderr.splitlines()
            if l.startswith(("conf-engine: configuration error: ", "conf-engine: configuration warning: "))]


def test_check_config_review():
    """--check-config reports every mistake with FILE:LINE, and a start reports the same ones."""
    d = tempfile.mkdtemp()
    try:
        blocker = os.path.join(d, "not-a-dir")
        with open(blocker, "w") as f:
            f.write("a file where state_dir wants a directory\n")
        bad = os.path.join(d, "bad.conf")
        with open(bad, "w") as f:
            f.write("[general]\n"                       # 1
                    "state_dir=not-a-dir/state\n"       # 2: cannot be made (a file is in the way)
                    "nod=pbx1\n"                        # 3: misspelt key
                    "[stor]\n"                          # 4: misspelt section: the store would be off
                    "backend=sqlite\n"                  # 5
                    "[conference]\n"                    # 6
                    "maxusers=lots\n"                   # 7
                    "rate=96000\n"                      # 8
                    "colour=blue\n")                    # 9: a key nothing reads
        want = [
            ("error", bad + ":2: state_dir " + os.path.join(d, "not-a-dir/state") +
             ": cannot create or write the directory: Not a directory"),
            ("error", bad + ":7: [conference] maxusers=lots: expects an integer (0..100000)"),
            ("error", bad + ":8: [conference] rate=96000: outside 8000..48000"),
            ("warning", bad + ":3: [general] unknown key 'nod' is ignored (did you mean 'node'?)"),
            ("warning", bad + ":4: unknown section [stor] is ignored (did you mean [store]?)"),
            ("warning", bad + ":9: [conference] unknown key 'colour' is ignored"),
        ]
        p = subprocess.run([BINARY, "--check-config", "--config", bad], capture_output=True, timeout=WAIT)
        checked = config_lines(p.stderr)
        for sev, msg in want:
            tap(("conf-engine: configuration %s: %s" % (sev, msg)) in checked,
                "--check-config reports the %s %s" % (sev, msg.split(": ", 1)[1]), p.stderr)
        tap(p.returncode == 2 and b"OK" not in p.stdout, "--check-config: errors exit 2", p.stderr)
        p = subprocess.run([BINARY, "--config", bad], capture_output=True, timeout=WAIT, stdin=subprocess.DEVNULL)
        tap(p.returncode == 2 and config_lines(p.stderr) == checked,
            "a start with the same file refuses (exit 2) with the same messages", p.stderr)
        tap(not os.path.exists(os.path.join(d, "state")), "nothing was created")

        warn = os.path.join(d, "warn.conf")
        with open(warn, "w") as f:
            f.write("[stor]\nbackend=sqlite\n[log]\nlevel=note\nlevle=debug\n")
        p = subprocess.run([BINARY, "--check-config", "--config", warn], capture_output=True, timeout=WAIT)
        checked = config_lines(p.stderr)
        tap(p.returncode == 3 and checked == [
            "conf-engine: configuration warning: %s:1: unknown section [stor] is ignored (did you mean [store]?)" % warn,
            "conf-engine: configuration warning: %s:5: [log] unknown key 'levle' is ignored (did you mean 'level'?)" % warn],
            "--check-config: warnings only exit 3, each with FILE:LINE", p.stderr)
        e = Engine("--config", warn)
        try:
            first = e.out.next()
            tap(first is not None and first.startswith("%%>"), "a start with warnings goes on", first)
            e.p.stdin.close()
            rc = e.wait()
            tap(rc == 0 and config_lines(e.stderr_text()) == checked,
                "... and prints the same warnings", e.stderr_text())
        finally:
            e.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_yate_not_reading():
    """Yate stops reading: past the output limit the engine drops the link and leaves, it does not spin."""
    errf = tempfile.TemporaryFile()
    p = subprocess.Popen([BINARY], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errf)
    p.stdout.readline()  # it started; from now on nobody reads its output, as a stuck Yate
    line = "%%>message:s{0}:0:engine.status::module=conf-engine\n"

    def flood():
        # each answer is ~800 bytes: 200,000 of them pass the 64 MiB output limit
        try:
            for i in range(200000):
                p.stdin.write(line.format(i).encode())
            p.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass  # the engine left: that is the point

    t = threading.Thread(target=flood, daemon=True)
    t.start()
    try:
        code = p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        before = cpu_seconds(p.pid)
        time.sleep(1)
        after = cpu_seconds(p.pid)
        code = "still running, %s s of CPU in 1 s" % (
            None if before is None or after is None else round(after - before, 2))
        p.kill()
        p.wait()
    errf.seek(0)
    err = errf.read().decode("utf-8", "replace")
    note_sanitizer("Yate not reading", err)
    tap(isinstance(code, int), "Yate not reading: the engine leaves (exit %r) instead of spinning" % code,
        err[-3000:])
    tap("backlogged" in err and "link to Yate closed" in err,
        "Yate not reading: the backlog and the dropped link are logged", err[-3000:])
    for f in (p.stdin, p.stdout):
        try:
            f.close()
        except OSError:
            pass
    errf.close()


def test_output_closed():
    """conf-engine | head -1: a broken output pipe ends the engine at its next write."""
    p = subprocess.Popen([BINARY], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.readline()
    p.stdout.close()  # the reader is gone
    time.sleep(0.3)
    try:
        p.stdin.write(b"%%>message:x1:0:engine.status::module=conf-engine\n")
        p.stdin.flush()
    except OSError:
        pass
    busy = None
    try:
        code = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        busy = cpu_seconds(p.pid)
        time.sleep(1)
        after = cpu_seconds(p.pid)
        busy = None if busy is None or after is None else after - busy
        p.kill()
        p.wait()
        code = "still running (%s s of CPU in 1 s)" % busy
    err = p.stderr.read().decode("utf-8", "replace")
    note_sanitizer("output pipe closed", err)
    tap(isinstance(code, int), "output pipe closed: the engine leaves at its next write (exit %r)" % code,
        err)
    for f in (p.stdin, p.stderr):
        try:
            f.close()
        except OSError:
            pass


def main():
    if not os.access(BINARY, os.X_OK):
        print("1..0 # SKIP %s not built" % BINARY)
        return 0
    for t in (test_options, test_yate_launch, test_check_config_modules, test_check_config_review, test_log_to_yate, test_yate_not_reading, test_output_closed, test_startup_and_transcript, test_hostile_input, test_sigterm,
              test_connect_unix, test_connect_tcp):
        try:
            t()
        except Exception as ex:  # a crash of the harness is a failure, not a hang
            tap(False, "%s raised %r" % (t.__name__, ex))
    tap(not sanitizer_reports, "no sanitizer report on any engine's stderr",
        "\n".join(sanitizer_reports))
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
