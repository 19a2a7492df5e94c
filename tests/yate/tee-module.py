#!/usr/bin/env python3
"""tee-module.py - run conf-engine under Yate and write every protocol line it exchanges to a transcript.

Yate's [scripts] runs `tee-module.py=VALUE` as it would run the engine:
one argument, VALUE, passed on unchanged.  The engine is $CE_TEE_ENGINE
(its stderr goes to Yate as usual); the transcript, $CE_TEE_TRANSCRIPT,
has one line per protocol line in the format of yate-sim -t and of
../shared/yate/:

    E: %%>message:0x55d1...:1796530000:call.execute::id=sip/2:...   (Yate to the engine)
    A: %%<message:0x55d1...:false:call.execute::callto=dumb/:...    (the engine to Yate)

Lines are copied at once in both directions; the wrapper ends when the
engine does, and closes the engine's input when Yate closes its own.
"""
import os
import subprocess
import sys
import threading

engine = os.environ['CE_TEE_ENGINE']
lock = threading.Lock()
out = open(os.environ['CE_TEE_TRANSCRIPT'], 'a', buffering=1, encoding='utf-8',
           errors='replace')
proc = subprocess.Popen([engine] + sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def note(tag, raw):
    with lock:
        out.write('%s: %s\n' % (tag, raw.rstrip(b'\r\n').decode('utf-8', 'replace')))


def from_yate():
    src = sys.stdin.buffer
    try:
        for raw in iter(src.readline, b''):
            note('E', raw)
            proc.stdin.write(raw)
            proc.stdin.flush()
    except (BrokenPipeError, OSError):
        pass
    try:
        proc.stdin.close()
    except OSError:
        pass


threading.Thread(target=from_yate, daemon=True).start()
dst = sys.stdout.buffer
try:
    for raw in iter(proc.stdout.readline, b''):
        note('A', raw)
        dst.write(raw)
        dst.flush()
except (BrokenPipeError, OSError):
    pass
sys.exit(proc.wait())
