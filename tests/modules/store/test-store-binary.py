#!/usr/bin/env python3
"""test-store-binary.py - the real binary: the state directory, the store's defaults in it, billid in CDRs.

1. [general] state_dir (relative to the configuration file) and a [store]
   section with backend=sqlite only: the engine makes the directory (0750),
   puts conf-engine.db and spool/ in it, the monitor's event log defaults
   to conf-monitor.jsonl there, and transcript 1's CDRs reach the database
   with Yate's billid.
2. No [store] section: one note saying so, and the engine runs.
3. A state_dir that cannot be made: the engine does not start and says why.
4. The SQLite file locked by another process (BEGIN EXCLUSIVE) at start:
   the engine asks Yate for its restart first, starts with the store down,
   answers engine.status, refuses a schedule/ call with
   service-unavailable, spools transcript 1's CDRs; once the lock is
   released the store comes up, migrates, replays them into the database,
   and admission works.
5. An sqlite_path in a directory that does not exist: a configuration
   error, the start stops and Yate is told not to restart the engine.
Prints TAP.  Every wait is bounded; nothing asserts on timing.
"""
import json
import os
import re
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
sys.path.insert(0, os.path.join(SRCDIR, "tests", "faults"))
import faultlib  # noqa: E402  (another process holding BEGIN EXCLUSIVE)

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
        try:
            self.p.stdin.write(data.encode())
            self.p.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # the engine left: the checks that follow say so

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

    def wait_out(self, pred, start=0):
        """Index of the first stdout line from @start on matching @pred, or None."""
        end = time.monotonic() + WAIT
        while True:
            for i in range(start, len(self.out)):
                if pred(self.out[i]):
                    return i
            if time.monotonic() > end or self.p.poll() is not None:
                return None
            time.sleep(0.02)

    def status(self, tag):
        """engine.status's answer (its return value), or None."""
        self.send("%%>message:" + tag + ":0:engine.status::module=conf-engine\n")
        i = self.wait_out(lambda l: l.startswith("%%<message:" + tag + ":"))
        return None if i is None else self.out[i]

    def admit(self, tag, key):
        """A call.execute to schedule/KEY; the answer's line, or None."""
        self.send("%%>message:" + tag + ":0:call.execute::id=sip/" + tag + ":caller=1001:called=" +
                  key + ":callto=schedule/" + key + "\n")
        i = self.wait_out(lambda l: l.startswith("%%<message:" + tag + ":"))
        return None if i is None else self.out[i]


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


def db_cdrs(db):
    try:
        c = sqlite3.connect(db, timeout=1)
        try:
            return c.execute("SELECT leg FROM cdrs ORDER BY leg").fetchall()
        finally:
            c.close()
    except sqlite3.Error:
        return None


def locked_db_run(tmp):
    conf = os.path.join(tmp, "locked", "conf-engine.conf")
    db = os.path.join(tmp, "locked", "conf.db")
    write(conf, "[general]\nnode=bin4\n[store]\nbackend=sqlite\nsqlite_path=conf.db\n"
                "spool_dir=spool\nworkers=1\nquery_timeout_ms=200\nreconnect_min_ms=50\n"
                "reconnect_max_ms=400\n[monitor]\ncdr_delay=0\n")
    locker = faultlib.Locker(db)
    locked = locker.locked
    e = Engine(conf)
    try:
        first = e.wait_out(lambda l: True)
        tap(locked and first is not None and e.out[0] == "%%>setlocal:restart:true",
            "locked database: the engine's first line asks Yate for its restart",
            "locked=%s\n%s\n%s" % (locked, "\n".join(e.out[:5]), e.stderr()))
        st = e.status("s1")
        tap(st is not None and "store_db=down" in st,
            "locked database: the engine runs and answers engine.status, store down",
            "%s\n%s" % (st, e.stderr()))
        ans = e.admit("a1", "800")
        tap(ans is not None and ":error=service-unavailable" in ans and "reason=unavailable" in ans,
            "locked database: a schedule/ call is refused with service-unavailable",
            "%s\n%s" % (ans, e.stderr()))
        tap(any("starting without it" in l and "busy" in l for l in e.err),
            "locked database: a warning says the store starts without the database",
            e.stderr())
        e.send(transcript_reports())
        spooled = None
        end = time.monotonic() + WAIT
        while spooled is None and time.monotonic() < end:
            st = e.status("s%d" % int((end - time.monotonic()) * 1000)) or ""
            m = re.search(r"store_spooled=(\d+),", st)
            if m and int(m.group(1)) >= 2 and "monitor_cdrs=2," in st:
                spooled = st
            else:
                time.sleep(0.05)
        tap(spooled is not None, "locked database: transcript 1's CDRs (and events) are spooled", st)
        locker.release()
        rows = db_cdrs(db)
        end = time.monotonic() + WAIT
        while rows != [("conf/1",), ("conf/2",)] and time.monotonic() < end:
            time.sleep(0.05)
            rows = db_cdrs(db)
        tap(rows == [("conf/1",), ("conf/2",)],
            "lock released: the store migrates and replays the spooled CDRs into the database",
            "rows=%r\n%s" % (rows, e.stderr()))
        st = e.status("s2")
        ans = e.admit("a2", "800")
        tap(st is not None and "store_db=up" in st and ans is not None and
            "error=noroute" in ans,
            "lock released: status shows the store up, admission asks the database again",
            "%s\n%s\n%s" % (st, ans, e.stderr()))
        rc = e.finish()
        tap(rc == 0, "locked database: the engine exits 0 at the end", "rc=%s" % rc)
    finally:
        locker.close()
        if e.p.poll() is None:
            e.p.kill()
            e.p.wait()


def missing_dir_run(tmp):
    conf = os.path.join(tmp, "nodir", "conf-engine.conf")
    write(conf, "[general]\nnode=bin5\n[store]\nbackend=sqlite\n"
                "sqlite_path=no/such/dir/conf.db\nspool_dir=spool\n")
    e = Engine(conf)
    rc = e.finish()
    err = e.stderr()
    tap(rc not in (0, "timeout") and "no/such/dir" in err and "does not exist" in err,
        "an sqlite_path in a missing directory stops the start and says why",
        "rc=%s\n%s" % (rc, err))
    tap(e.out[:1] == ["%%>setlocal:restart:true"] and "%%>setlocal:restart:false" in e.out,
        "a start that cannot work takes back its restart request",
        "\n".join(e.out))


def main():
    print("1..18")
    tmp = tempfile.mkdtemp(prefix="store-bin-")
    try:
        state_dir_run(tmp)
        no_store_run(tmp)
        bad_state_dir_run(tmp)
        locked_db_run(tmp)
        missing_dir_run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
