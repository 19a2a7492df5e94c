#!/usr/bin/env python3
"""test-bench-sip.py - bench/bench-sip.py still runs, and says what it measured (TAP).

The benchmark of docs/PERFORMANCE.md ("Whole system") is not a test, but a
benchmark that no longer runs is found only when someone needs its figures.
This runs it at its smallest: 20 SIP calls from SIPp into a real Yate 6.4.1,
one round of each mode (a: Yate's conference, b: conf-engine relayed, c:
conf-engine bypassed, f: the kernel's floor, bench-udp), 2-second windows,
and checks what each run reports, not how fast it was:
- every run's line is there, with Yate's RTP sessions as each mode makes
  them (N in a, 2N in b, none in c: the phones' RTP reaches the engine);
- SIPp's calls all succeeded, and the phones received audio in a, b and c,
  with probe bursts timed through the mix;
- the floor ran, and the summary tables have their row for N = 20.
Needs SIPp (Debian sip-tester) and sox as the benchmark does.
"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yatelib  # noqa: E402

tap = yatelib.Checked()
prefix = yatelib.require(tap)
missing = [t for t in ('sipp', 'sox') if not shutil.which(t)]
if missing:
    if os.environ.get('CI'):
        tap.ok(False, 'SIPp and sox are installed (tools/install-deps.sh)', missing)
        tap.done()
    print('1..0 # SKIP not installed: %s (Debian: sip-tester, sox)' % ' '.join(missing))
    sys.exit(0)

N = 20
BENCH = os.path.join(yatelib.SRCDIR, 'bench', 'bench-sip.py')
env = dict(os.environ, CE_YATE_PREFIX=prefix)
try:
    r = subprocess.run([sys.executable, BENCH, '--n', str(N), '--rounds', '1', '--seconds', '2',
                        '--settle', '1', '--modes', 'abcf'], env=env, capture_output=True,
                       text=True, timeout=600)
    out, err, status = r.stdout, r.stderr, r.returncode
except subprocess.TimeoutExpired as e:
    out, err, status = [(x or b'').decode('utf-8', 'replace') if isinstance(x, bytes) else
                        (x or '') for x in (e.stdout, e.stderr)] + ['timed out after 600 s']
tap.ok(status == 0, 'bench-sip.py --n 20 --rounds 1 --modes abcf runs to its end',
       (status, out[-2000:], err[-2000:]))


def run_of(mode):
    """The lines of @mode's run: its first line and those indented under it."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith('%s N=%d round 0:' % (mode, N)):
            block = [line]
            for more in lines[i + 1:]:
                if not more.startswith('   '):
                    break
                block.append(more)
            return '\n'.join(block)
    return ''


SESSIONS = {'a': N, 'b': 2 * N, 'c': 0}
for mode, want in sorted(SESSIONS.items()):
    text = run_of(mode)
    m = re.search(r'yrtp sessions ([0-9/]+);', text)
    tap.ok(m and int(m.group(1).split('/')[-1]) == want,
           '(%s) Yate has %d RTP sessions for %d calls' % (mode, want, N), text)
    tap.ok('SIPp %d successful, 0 failed (exit 0)' % N in text,
           '(%s) SIPp: all %d calls succeeded' % (mode, N), text)
    got = re.search(r'phones received ([0-9.]+) ms of audio a second each.* (\d+) got nothing',
                    text)
    lat = re.search(r'; (\d+) onsets,', text)
    tap.ok(got and float(got.group(1)) > 0 and got.group(2) == '0' and lat and
           int(lat.group(1)) > 0,
           '(%s) every phone received audio, and probe bursts were timed through the mix' % mode,
           text)
floor = re.search(r"the kernel's floor ([0-9.]+) s/s", run_of('f'))
tap.ok(floor and '!!!' not in run_of('f'), "(f) the kernel's floor ran (bench-udp)", run_of('f'))
row = re.search(r'^\s+%d \| \d+ .*\| \d+ .*\| \d+ .*\| [0-9.]+ ' % N, out, re.M)
frow = re.search(r'^\s+%d \| \d+ \(\d+-\d+\)\s+\| [0-9.]+ ' % N, out, re.M)
tap.ok(row and frow and 'every call of every run was answered and ended well' in out,
       'the summary: participants per core of each mode with the ratios, and the floor\'s table',
       out[-3000:])
tap.done()
