#!/usr/bin/env python3
"""test-yate-rooms.py - callers routed by Yate's regexroute into conf/ rooms hear each other, not themselves (TAP).

Real Yate 6.4.1 channels (wavefile: each caller plays a file and records
what it hears) are routed by regexroute to `conf/NAME`; conf-engine takes
each with dumb/ and real yrtp RTP.  What the callers recorded is analysed:
  - room 1: A plays 440 Hz bursts, B plays 1000 Hz bursts, C is silent: A
    hears 1000 Hz and not its own 440 Hz, B the reverse, C hears both
    (simlib.who_hears: each present tone over -45 dB, each absent one 20 dB
    below the weakest present one);
  - room 2: D speaks (tests/data/sim/speech.wav), E is silent: E hears
    speech, D hears nothing at all (not itself: 30 dB below what E hears
    of it, and none of room 1's tones);
  - room 3: Yate's tone/dial (a steady 421 Hz from the first frame, as hold
    music or a test tone would be) is heard by G: audible sound is mixed
    whatever its shape, not only what the talker detector calls speech;
  - after A hangs up, C no longer hears 440 Hz and the room goes on.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yatelib  # noqa: E402

tap = yatelib.Checked()
prefix = yatelib.require(tap)


with yatelib.Yate(prefix, 'rooms', engine='--config {conf}',
                  routes=[r'^8\(..\)$=conf/room\1']) as y:
    tap.yate = y
    tap.ok(y.wait_engine(), 'conf-engine attached to Yate', y.log_tail())
    d = y.driver()
    yatelib.write_slin(y.path('a.slin'), yatelib.bursts(440, 30))
    yatelib.write_slin(y.path('b.slin'), yatelib.bursts(1000, 30))
    yatelib.speech_slin(y.path('d.slin'), 30)
    calls = {}
    for who, number, play in (('A', '801', 'a.slin'), ('B', '801', 'b.slin'), ('C', '801', None),
                              ('D', '802', 'd.slin'), ('E', '802', None),
                              ('F', '803', 'tone/dial'), ('G', '803', None)):
        if play and play.startswith('tone/'):
            chan, ans = d.call(number, callto=play, caller='10' + who)
        else:
            chan, ans = d.call(number, play=y.path(play) if play else None,
                               record=y.path('heard-%s.slin' % who), caller='10' + who)
        calls[who] = chan
        tap.ok(bool(chan), '%s calls %s: Yate routes it and the engine takes it' % (who, number),
               ans)
    listing = yatelib.wait_for(lambda: (lambda t: 'conf/room01' in t and 'conf/room02' in t and t)(
        y.rm('conf list')))
    tap.ok(bool(listing), 'the engine runs conf/room01 and conf/room02', listing)
    time.sleep(6)
    # A leaves; C keeps listening to B alone
    t_drop = time.monotonic()
    d.drop(calls['A'])
    time.sleep(4)
    after_a = time.monotonic() - t_drop
    for who in 'BCDEFG':
        d.drop(calls[who])
    empty = yatelib.wait_for(lambda: 'conf/room' not in y.rm('conf list'), timeout=10)
    tap.ok(bool(empty), 'every caller hung up: the engine has no rooms left', y.rm('conf list'))

    heard = {w: yatelib.read_slin(y.path('heard-%s.slin' % w)) for w in 'ABCDEG'}
    hears = yatelib.simlib.who_hears
    # each check compares tones in dB: the others' present, the caller's own absent
    for who, present, absent, what in (
            ('A', [1000], [440], 'A hears B (1000 Hz), not itself (440 Hz)'),
            ('B', [440], [1000], 'B hears A (440 Hz), not itself (1000 Hz)'),
            ('C', [440, 1000], [], 'C, silent, hears both A and B'),
            ('D', [], [440, 1000], 'D hears none of room 1 (440, 1000 Hz)')):
        ok, levels = hears(heard[who], present, absent)
        tap.ok(ok, what, levels)
    # the last 3 s of C's recording come after A left (the drop took well under a second)
    tail = heard['C'][-int(3 * yatelib.RATE):] if after_a >= 3 else []
    ok, levels = hears(tail, [1000], [440])
    tap.ok(ok, 'after A hangs up, C hears B and no more of A', (len(tail), levels))
    # room 2 is speech, not a tone: D's own speech would come back as loud as E hears it
    lvl = yatelib.simlib.level_dbfs
    tap.ok(lvl(heard['E']) > -40, 'E hears D speak (room 2)', lvl(heard['E']))
    tap.ok(lvl(heard['D']) <= lvl(heard['E']) - 30,
           'D does not hear itself: what it hears is 30 dB below what E hears of it',
           (lvl(heard['D']), lvl(heard['E'])))

    ok, levels = hears(heard['G'], [421])
    tap.ok(ok and yatelib.heard(heard['G'], 421) > 0.8, "G hears tone/dial's steady 421 Hz",
           levels)

tap.done()
