#!/usr/bin/env python3
"""test-media-threads.py - several rooms on two media threads hear as on one (TAP).

The real conf-engine under yate-sim, run twice on the same scenario: with
[conference] media_threads=1 and media_threads=2.  Four rooms of three
callers; every caller plays a tone of its own and records what it hears.
Each listener must hear the other two of its room, not itself and nobody
of another room (mix-minus, rooms apart), and the two runs must agree.
With two threads the rooms must really be spread: the RTP address the
engine gives a room's legs is its media thread's socket, so the rooms show
two ports, alternating, where one thread shows one.
Skipped when conf-engine is not built.
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402

ROOMS = 4
PER_ROOM = 3
# 20 ms frames hold whole cycles of multiples of 50 Hz, so a tone leaks
# nothing into another one's Goertzel bin; 200 Hz apart, 400..2600 Hz (in the
# telephone band).
FREQ = [400 + 200 * i for i in range(ROOMS * PER_ROOM)]
HEARD = 0.2     # share of a listener's energy: a tone it hears (two do: ~0.5 each)
NOT_HEARD = 0.02


def label(i):
    return str(1001 + i)


def run(threads):
    """({(listener, speaker): share}, [remote port of each room]) of one run."""
    cfgdir = tempfile.mkdtemp(prefix='ce-threads-sim-')
    cfg = os.path.join(cfgdir, 'conf-engine.conf')
    with open(cfg, 'w') as f:
        f.write('[conference]\nmedia_threads=%d\nenter_prompt=\nleave_prompt=\n'
                'lonely_prompt=\n' % threads)
    lines = ['route ^80(.)$ conf/room$1']
    for i in range(ROOMS * PER_ROOM):
        # the callers of the rooms interleaved, so that rooms are made in turn
        lines.append('at %.2f call %s 80%d play=tone:%d@0.2 record=%s.wav' %
                     (0.05 * i, label(i), i % ROOMS, FREQ[i], label(i)))
    lines += ['at 4.5 hangup all', 'end 5']
    r = simlib.run('\n'.join(lines) + '\n', module=simlib.ENGINE + ['--config', cfg])
    tap.ok(r.ok and not r.problems(), 'media_threads=%d: %d rooms of %d run cleanly' %
           (threads, ROOMS, PER_ROOM), r.why())
    share = {}
    for i in range(ROOMS * PER_ROOM):
        try:
            samples = r.wav(label(i) + '.wav')
        except (OSError, EOFError) as e:
            samples = []
            print('# %s.wav: %s' % (label(i), e))
        seg = samples[2 * 8000:4 * 8000]  # steady: every caller in, none gone
        for k in range(ROOMS * PER_ROOM):
            share[(i, k)] = simlib.tone_ratio(seg, FREQ[k]) if len(seg) >= 8000 else 0.0
    ports = {}
    for m in r.messages('chan.rtp', handled=True):
        n = int(m['params']['id'].split('/')[1]) - 1  # dumb/N in call order
        ports.setdefault(n % ROOMS, set()).add(m['params'].get('remoteport'))
    r.cleanup()
    shutil.rmtree(cfgdir, ignore_errors=True)
    return share, [ports.get(room, set()) for room in range(ROOMS)]


def hears(share):
    """{(listener, speaker): True/False/None}, None for a share between the bounds."""
    return {k: True if v > HEARD else False if v < NOT_HEARD else None
            for k, v in share.items()}


tap = simlib.Tap()
if not os.access(simlib.ENGINE[0], os.X_OK):
    tap.skip('several media threads through the simulator', 'conf-engine is not built')
    tap.done()

results = {}
for threads in (1, 2):
    share, ports = run(threads)
    results[threads] = hears(share)
    wrong = sorted((label(i), label(k), round(share[(i, k)], 3))
                   for i in range(ROOMS * PER_ROOM) for k in range(ROOMS * PER_ROOM)
                   if results[threads][(i, k)] != (i != k and i % ROOMS == k % ROOMS))
    tap.ok(not wrong, 'media_threads=%d: each caller hears the other two of its room, '
           'not itself, nobody of another room' % threads,
           'listener, speaker, share: %s' % wrong[:12])
    one_port = all(len(p) == 1 for p in ports)
    if threads == 1:
        tap.ok(one_port and len(set.union(*ports)) == 1,
               'media_threads=1: every room on the one thread\'s socket', ports)
    else:
        tap.ok(one_port and ports[0] == ports[2] and ports[1] == ports[3] and
               ports[0] != ports[1], 'media_threads=2: the rooms alternate between the two '
               'threads\' sockets', ports)
tap.ok(results[1] == results[2], 'who hears whom is the same with one and two media threads',
       sorted(k for k in results[1] if results[1][k] != results[2][k]))
tap.done()
