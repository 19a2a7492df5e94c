#!/usr/bin/env python3
"""test-monitor-binary.py - the real conf-engine binary: transcript 1 on stdin, events on the monitor socket.

Yate's chan.notify reports arrive through the real session (yate.c) and the
watch it asked for; a subscriber on the unix socket receives the events and
CDRs as JSON lines, and the event log holds the same lines.  Prints TAP.
Every wait is bounded; nothing asserts on timing.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

SRCDIR = os.environ.get("CE_SRCDIR", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILDDIR = os.environ.get("CE_BUILDDIR", SRCDIR)
BINARY = os.path.join(BUILDDIR, "conf-engine", "conf-engine")
TRANSCRIPT = os.path.join(SRCDIR, "tests", "data", "transcript-1.txt")
WAIT = 20.0  # bound of every wait (sanitizer builds are slow)

results = []


def tap(ok, name, diag=""):
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name))
    if diag and not ok:
        for line in str(diag).splitlines()[-30:]:
            print("# " + line)
    sys.stdout.flush()


def drain(stream, into):
    for raw in iter(stream.readline, b""):
        into.append(raw.decode("utf-8", "replace").rstrip("\n"))


def read_json_lines(sock, want):
    """JSON objects from @sock until @want arrived or WAIT passed."""
    buf = b""
    out = []
    end = time.monotonic() + WAIT
    sock.settimeout(0.2)
    while len(out) < want and time.monotonic() < end:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            out.append(json.loads(line.decode("utf-8")))
    return out


def wait_for(path):
    end = time.monotonic() + WAIT
    while not os.path.exists(path) and time.monotonic() < end:
        time.sleep(0.01)
    return os.path.exists(path)


def main():
    print("1..7")
    tmp = tempfile.mkdtemp(prefix="monitor-bin-")
    sock_path = os.path.join(tmp, "monitor.sock")
    log_path = os.path.join(tmp, "log", "events.jsonl")
    conf = os.path.join(tmp, "conf-engine.conf")
    with open(conf, "w") as f:
        f.write("[general]\nnode=bin1\n[monitor]\nsocket=monitor.sock\n"
                "event_log=log/events.jsonl\ncdr_delay=0\n")
    p = subprocess.Popen([BINARY, "--config", conf], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = [], []
    threads = [threading.Thread(target=drain, args=(p.stdout, out), daemon=True),
               threading.Thread(target=drain, args=(p.stderr, err), daemon=True)]
    for t in threads:
        t.start()
    try:
        tap(wait_for(sock_path), "the monitor socket appears", "\n".join(err))
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock_path)
        hello = read_json_lines(s, 1)
        tap(hello and hello[0].get("type") == "hello" and hello[0].get("node") == "bin1",
            "a subscriber is greeted", repr(hello))
        with open(TRANSCRIPT, encoding="utf-8") as f:
            for line in f:
                # Yate's answers and watch reports only: the %%>message lines would
                # start rooms of the engine's own conference module
                if line.startswith(("E: %%<setlocal:", "E: %%<watch:", "E: %%<message::")):
                    p.stdin.write(line[3:].encode())
        p.stdin.flush()
        got = read_json_lines(s, 12)
        summary = ["%s %s" % (o.get("event", o["type"]), o.get("leg", "-")) for o in got]
        want = ["created -", "enter conf/1", "talk-start conf/1", "enter conf/2",
                "talk-start conf/2", "talk-stop conf/1", "leave conf/1", "cdr conf/1",
                "talk-stop conf/2", "leave conf/2", "cdr conf/2", "destroyed -"]
        tap(summary == want, "transcript 1's chan.notify become enter/leave/talker events and CDRs",
            "got: %s" % summary)
        cdr = [o for o in got if o["type"] == "cdr"]
        tap(len(cdr) == 2 and cdr[0].get("caller") == "tone/busy" and
            cdr[0].get("billid") == "1795326661-4" and cdr[1].get("caller") == "tone/dial" and
            cdr[0]["left_us"] >= cdr[0]["joined_us"],
            "CDRs carry caller, billid and times", repr(cdr))
        tap(all(o.get("source") == "yate" and o.get("node") == "bin1" for o in got),
            "events are marked as reported by Yate", repr(got))
        s.close()
        p.stdin.close()
        try:
            rc = p.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = "timeout"
        for t in threads:
            t.join(timeout=WAIT)
        tap(rc == 0 and "%%>watch:chan.notify" in out, "the engine watches chan.notify and exits 0",
            "rc=%s\n%s" % (rc, "\n".join(err)))
        with open(log_path, encoding="utf-8") as f:
            logged = [json.loads(l) for l in f]
        tap(logged == got, "the event log holds the same lines", "log: %r" % logged)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        for root, dirs, files in os.walk(tmp, topdown=False):
            for n in files:
                os.unlink(os.path.join(root, n))
            for n in dirs:
                os.rmdir(os.path.join(root, n))
        os.rmdir(tmp)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
