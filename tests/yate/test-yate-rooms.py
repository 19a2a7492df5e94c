#!/usr/bin/env python3
"""test-yate-rooms.py - callers routed by Yate's regexroute into conf/ rooms hear each other, not themselves (TAP).

Real Yate 6.4.1 channels (wavefile: each caller plays a file and records
what it hears) are routed by regexroute to `conf/NAME`; conf-engine takes
each with dumb/ and real yrtp RTP.  What the callers recorded is analysed:
  - room 1: A plays 440 Hz bursts, B plays 1000 Hz bursts, C is silent: A
    hears 1000 Hz and not its own 440 Hz, B the reverse, C hears both;
  - room 2: D speaks (tests/data/sim/speech.wav), E is silent: E hears
    speech, D hears nothing at all (not itself, and none of room 1's tones);
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


def bursts(freq, seconds):
    """Tone bursts (0.6 s on, 0.4 s off): what a talker looks like to a level meter."""
    out = []
    for _ in range(int(seconds)):
        out += yatelib.tone(freq, 0.6) + [0] * int(0.4 * yatelib.RATE)
    return out


with yatelib.Yate(prefix, 'rooms', engine='--config {conf}',
                  routes=[r'^8\(..\)$=conf/room\1']) as y:
    tap.yate = y
    tap.ok(y.wait_engine(), 'conf-engine attached to Yate', y.log_tail())
    d = y.driver()
    yatelib.write_slin(y.path('a.slin'), bursts(440, 30))
    yatelib.write_slin(y.path('b.slin'), bursts(1000, 30))
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
    h = yatelib.heard
    tap.ok(h(heard['A'], 1000) > 0.5, 'A hears B (1000 Hz)', h(heard['A'], 1000))
    tap.ok(h(heard['A'], 440) < 0.02, 'A does not hear itself (440 Hz)', h(heard['A'], 440))
    tap.ok(h(heard['B'], 440) > 0.5, 'B hears A (440 Hz)', h(heard['B'], 440))
    tap.ok(h(heard['B'], 1000) < 0.02, 'B does not hear itself (1000 Hz)', h(heard['B'], 1000))
    c = heard['C']
    tap.ok(h(c, 440) > 0.2 and h(c, 1000) > 0.2, 'C, silent, hears both A and B',
           (h(c, 440), h(c, 1000)))
    # the last 3 s of C's recording come after A left (the drop took well under a second)
    tail = c[-int(3 * yatelib.RATE):] if after_a >= 3 else []
    tap.ok(len(tail) > 0 and h(tail, 440) < 0.02 and h(tail, 1000) > 0.5,
           'after A hangs up, C hears B and no more of A', (len(tail), h(tail, 440), h(tail, 1000)))
    lvl = yatelib.simlib.level_dbfs
    tap.ok(lvl(heard['E']) > -40, 'E hears D speak (room 2)', lvl(heard['E']))
    tap.ok(lvl(heard['D']) < -55, 'D hears nothing: not itself, and nothing of room 1',
           lvl(heard['D']))

    tap.ok(h(heard['G'], 421) > 0.8, "G hears tone/dial's steady 421 Hz", h(heard['G'], 421))

tap.done()
