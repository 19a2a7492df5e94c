#!/usr/bin/env python3
"""test-yate-wideband.py - wideband rooms on real Yate: G.722 phones hear each other to 7 kHz (TAP).

Baresip phones (tests/yate/baresiplib.py) call Yate's SIP port, bypassed
(`;rtp_forward=yes`), into a room that mixes at 16 kHz (`rate=16000`):
  - phone 1 offers G.722 (then G.711) and says a 1 kHz and a 6 kHz tone;
  - phone 2 offers G.722 and listens;
  - phone 3 offers G.711 only and listens.
Yate loads g722webrtc, without which its SDP parser drops G.722 from
what it tells the engine.  The engine answers the G.722 phones G.722 (Yate's 200 OK carries payload
type 9) and the G.711 one mu-law; Yate's yrtp has no session for them.
Phone 2 hears both tones at about the level they were said; phone 3
hears the 1 kHz one, and the 6 kHz one neither as itself (a G.711 call
cannot carry it) nor folded down to 2 kHz (the room's conversion to
8 kHz removes it).  Phone 5 offers G.722 and calls the wideband room with bypass=false: Yate
relays it, and the engine asks Yate's chan.rtp for G.722, so it too hears
6 kHz.  Phone 4 offers G.722 too but calls a narrowband room
(the default rate, 8000): it is answered G.711, since G.722 there would
cost more and sound the same.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import baresiplib  # noqa: E402
import yatelib  # noqa: E402

simlib = yatelib.simlib
tap = yatelib.Checked()
prefix = yatelib.require(tap)
found = baresiplib.require(tap)
WATCH = 'wb-watch'
LISTEN = 6.0
SECONDS = 300
WIDE = 16000


ROOM = 'conf/wb;rtp_forward=yes;rate=16000;notify=%s' % WATCH
# Yate puts G.722 in call.execute's formats= only for a codec it knows: g722webrtc here
# (or, without it, `[codecs] g722/16000=yes` in ysipchan.conf: docs/bypass.md)
with yatelib.Yate(prefix, 'wideband', engine='--config {conf}', engine_conf='',
                  modules=yatelib.MODULES + ('g722webrtc',),
                  routes=[r'^810$=%s' % ROOM,
                          r'^812$=%s;bypass=false' % ROOM,
                          r'^811$=conf/nb;rtp_forward=yes']) as y, \
        baresiplib.Phones() as phones:
    tap.yate = y
    tap.must(y.wait_engine(), 'conf-engine attached to Yate', y.log_tail())
    d = y.driver()
    d.watch('chan.notify')
    p = {}
    # 1 kHz and 6 kHz bursts together at 16 kHz, each at -22 dBFS
    spec = {1: ('G722,PCMU', baresiplib.tones((1000, 6000), SECONDS, WIDE)),
            2: ('G722', None), 3: ('PCMU', None),
            4: ('G722,PCMU', None), 5: ('G722', None)}
    for n, (codecs, audio) in spec.items():
        # what each is answered: phone 4, G.722 first, gets G.711 (and baresip's aufile plays
        # only a file at its codec's rate)
        rate = WIDE if n in (1, 2, 5) else yatelib.RATE
        p[n] = phones.start(tap, y, 'phone%d' % n, found, audio, rate, codecs=codecs)
    for n in (1, 2, 3):
        tap.must(p[n].dial('810'), 'phone %d calls the wideband room and is answered' % n,
                 p[n].log_tail() + '\n' + y.log_tail())
        tap.must(d.wait_users(WATCH, n), 'the room counts %d users' % n,
                 d.reports_of('chan.notify'))
    tap.must(p[4].dial('811'), 'phone 4 calls the narrowband room and is answered',
             p[4].log_tail() + '\n' + y.log_tail())
    tap.must(p[5].dial('812'), 'phone 5 calls the wideband room relayed (bypass=false)',
             p[5].log_tail() + '\n' + y.log_tail())
    tap.must(d.wait_users(WATCH, 4), 'the room counts 4 users', d.reports_of('chan.notify'))

    for n, want in ((1, '9'), (2, '9'), (3, '0'), (4, '0'), (5, '9')):
        sdp = p[n].answer_sdp()
        m = re.search(r'^m=audio \d+ RTP/AVP ([\d ]+)', sdp, re.M)
        fmts = m.group(1).split() if m else []
        tap.ok(fmts[:1] == [want] and (want != '9' or fmts == ['9'] or
                                        set(fmts) <= {'9', '101'}),
               "phone %d's 200 OK answers payload type %s (%s)" % (
                   n, want, 'G.722' if want == '9' else 'mu-law'), sdp)
    st = y.rm('status yrtp')
    tap.ok(y.yrtp_chans() == 2 and re.search(r'=sip/5\b', st) and
           not re.search(r'=sip/[1-4]\b', st),
           "Yate's yrtp has sessions for relayed phone 5 only (its sip/5 and the engine's side)",
           st)
    tap.ok(p[2].rate == WIDE and p[3].rate == yatelib.RATE,
           'phone 2 records at 16 kHz, phone 3 at 8 kHz')
    tap.ok(baresiplib.listen([p[2], p[3], p[5]], LISTEN),
           'phones 2, 3 and 5 hear the room for %.0f s' % LISTEN,
           [p[n].heard_seconds() for n in (2, 3, 5)])

    start = {n: max(0.0, p[n].heard_seconds() - LISTEN + 1) for n in (2, 3, 5)}
    wide = p[2].heard()[int(start[2] * WIDE):]
    ok, levels = simlib.who_hears(wide, [1000, 6000], [], rate=WIDE)
    print('# phone 2 (G.722) heard, dB re full scale: %s' % levels)
    tap.ok(ok and abs(levels[1000] - levels[6000]) <= 4.0,
           'G.722 phone 2 hears both tones of phone 1, 6 kHz as loud as 1 kHz (within 4 dB)',
           levels)
    relayed = p[5].heard()[int(start[5] * WIDE):]
    ok, levels = simlib.who_hears(relayed, [1000, 6000], [], rate=WIDE)
    print('# phone 5 (G.722, relayed by Yate) heard, dB re full scale: %s' % levels)
    tap.ok(ok and abs(levels[1000] - levels[6000]) <= 4.0,
           'G.722 phone 5, relayed through Yate as G.722, hears 6 kHz as loud as 1 kHz', levels)
    narrow = p[3].heard()[int(start[3] * yatelib.RATE):]
    ok, levels = simlib.who_hears(narrow, [1000], [2000], margin=30.0)
    print('# phone 3 (G.711) heard, dB re full scale: %s' % levels)
    tap.ok(ok, 'G.711 phone 3 hears the 1 kHz tone, and no 6 kHz folded to 2 kHz '
           '(30 dB under)', levels)
    said = p[1].said()
    tap.ok(p[1].rate == WIDE and simlib.tone_level(said[-WIDE * 2:], 6000, WIDE) > -40,
           'phone 1 really sent 6 kHz (its own encoder dump)',
           simlib.tone_level(said[-WIDE * 2:], 6000, WIDE))

    baresiplib.hang_up_all(tap, y, p, 'conf/wb')
tap.done()
