#!/usr/bin/env python3
"""test-store-binary.py - the real binary: the state directory, the store's defaults in it, billid in CDRs.

1. [general] state_dir (relative to the configuration file) and a [store]
   section with backend=sqlite only: the engine makes the directory (0750),
   puts conf-engine.db and spool/ in it, the monitor's event log defaults
   to conf-monitor.jsonl there, and transcript 1's CDRs reach the database
   with Yate's billid.
2. No [store] section: one note saying so, and the engine runs.
3. A state_dir that cannot be made: the engine does not start and says why.
Prints TAP.  Every wait is bounded; nothing asserts on timing.
"""
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time

SRCDIR = os.environ.get("CE_SRCDIR", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILDDIR = os.environ.get("CE_BUILDDIR", SRCDIR)
BINARY = os.path.join(BUILDDIR, "conf-engine", "conf-engine")
TRANSCRIPT = os.path.join(SRCDIR, "tests", "data", "transcript-1.txt")
WAIT = 30.0  # bound of every wait (sanitizer builds are slow)

results = []


def tap(ok, name, diag=""):
    results.append(bool(ok))
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name))
    if diag and not ok:
        for line in str(diag).splitlines()[-30:]:
            print("# " + line)
    sys.stdout.flush()


def drain(stream, into):
    for raw in iter(stream.readline, b""):
        into.append(raw.decode("utf-8", "replace").rstrip("\n"))


class Engine:
    """conf-engine --config CONF with its stdout and stderr collected."""

    def __init__(self, conf):
        self.p = subprocess.Popen([BINARY, "--config", conf], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out, self.err = [], []
        self.threads = [threading.Thread(target=drain, args=(self.p.stdout, self.out), daemon=True),
                        threading.Thread(target=drain, args=(self.p.stderr, self.err), daemon=True)]
        for t in self.threads:
            t.start()

    def send(self, data):
        self.p.stdin.write(data.encode())
        self.p.stdin.flush()

    def finish(self):
        """Close Yate's side of the link; the exit status, or "timeout"."""
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            rc = self.p.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            rc = "timeout"
        for t in self.threads:
            t.join(timeout=WAIT)
        return rc

    def stderr(self):
        return "\n".join(self.err)


def cdr_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [o for o in (json.loads(l) for l in f if l.strip()) if o.get("type") == "cdr"]
    except (OSError, ValueError):
        return []


def wait_cdrs(path, want):
    end = time.monotonic() + WAIT
    got = cdr_lines(path)
    while len(got) < want and time.monotonic() < end:
        time.sleep(0.02)
        got = cdr_lines(path)
    return got


def transcript_reports():
    """Yate's answers and watch reports of transcript 1 (not its %%>message lines,
    which would start rooms of the engine's own conference module)."""
    with open(TRANSCRIPT, encoding="utf-8") as f:
        return "".join(line[3:] for line in f
                       if line.startswith(("E: %%<setlocal:", "E: %%<watch:", "E: %%<message::")))


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def state_dir_run(tmp):
    conf = os.path.join(tmp, "etc", "conf-engine.conf")
    state = os.path.join(tmp, "var", "lib", "conf-engine")
    write(conf, "[general]\nnode=bin1\nstate_dir=../var/lib/conf-engine\n"
                "[store]\nbackend=sqlite\nworkers=1\n[monitor]\ncdr_delay=0\n")
    e = Engine(conf)
    e.send(transcript_reports())
    logged = wait_cdrs(os.path.join(state, "conf-monitor.jsonl"), 2)
    rc = e.finish()
    tap(rc == 0, "with state_dir and [store]: the engine runs and exits 0",
        "rc=%s\n%s" % (rc, e.stderr()))
    mode = stat.S_IMODE(os.stat(state).st_mode) if os.path.isdir(state) else None
    tap(mode is not None and mode & 0o027 == 0 and mode & 0o700 == 0o700,
        "the state directory is made, relative to the configuration file, mode 0750",
        "mode=%s" % (oct(mode) if mode is not None else "missing"))
    db = os.path.join(state, "conf-engine.db")
    tap(os.path.isfile(db) and os.path.isdir(os.path.join(state, "spool")),
        "[store] without paths puts conf-engine.db and spool/ in the state directory",
        repr(os.listdir(state) if os.path.isdir(state) else None))
    tap(len(logged) == 2, "the monitor's event log defaults to conf-monitor.jsonl there",
        repr(logged))
    rows = []
    version = None
    if os.path.isfile(db):
        c = sqlite3.connect(db)
        rows = c.execute("SELECT leg, billid FROM cdrs ORDER BY leg").fetchall()
        version = c.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
        c.close()
    want = sorted((o.get("leg"), o.get("billid")) for o in logged)
    tap(version is not None and version >= 2 and rows == want and
        ("conf/1", "1795326661-4") in rows,
        "transcript 1's CDRs are in the database with Yate's billid",
        "version=%s rows=%r want=%r" % (version, rows, want))


def no_store_run(tmp):
    conf = os.path.join(tmp, "plain", "conf-engine.conf")
    write(conf, "[general]\nnode=bin2\n[monitor]\ncdr_delay=0\n")
    e = Engine(conf)
    rc = e.finish()
    notes = [l for l in e.err if "no [store] section: scheduled conferences are disabled" in l]
    tap(rc == 0 and len(notes) == 1, "without [store]: the engine runs and says so once",
        "rc=%s\n%s" % (rc, e.stderr()))
    tap(os.listdir(os.path.dirname(conf)) == ["conf-engine.conf"],
        "without [store] and state_dir nothing is written beside the configuration",
        repr(os.listdir(os.path.dirname(conf))))


def bad_state_dir_run(tmp):
    blocker = os.path.join(tmp, "bad", "a-file")
    conf = os.path.join(tmp, "bad", "conf-engine.conf")
    write(blocker, "")
    write(conf, "[general]\nstate_dir=a-file/state\n")
    e = Engine(conf)
    rc = e.finish()
    err = e.stderr()
    tap(rc not in (0, "timeout") and "state_dir" in err and "a-file/state" in err and
        "Not a directory" in err,
        "a state_dir that cannot be made stops the start and says why",
        "rc=%s\n%s" % (rc, err))


def main():
    print("1..8")
    tmp = tempfile.mkdtemp(prefix="store-bin-")
    try:
        state_dir_run(tmp)
        no_store_run(tmp)
        bad_state_dir_run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
