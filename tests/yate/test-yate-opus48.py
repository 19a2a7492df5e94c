#!/usr/bin/env python3
"""test-yate-opus48.py - fullband rooms on real Yate: Opus phones hear each other to 20 kHz (TAP).

A room made with `rate=48000` mixes at 48 kHz (docs/conference.md,
"Sample rate"), and the Opus phones in it are answered
`maxplaybackrate=48000` (docs/bypass.md, "Opus").  Yate runs with
`forward_sdp=yes`, as in test-yate-opus.py, and baresip phones
(tests/yate/baresiplib.py) call its SIP port, bypassed (`;rtp_forward=yes`):
  - phone 1 offers Opus (then G.711), its opus module at 48 kHz mono, and
    says a 1 kHz and a 12 kHz tone;
  - phone 2 offers Opus at 48 kHz the same way and says a 3 kHz and an
    18 kHz tone;
  - phone 3 offers G.711 only and says a 500 Hz tone.
The Opus phones' 200 OKs answer Opus on the payload type each offered with
`maxplaybackrate=48000;sprop-maxcapturerate=48000;useinbandfec=1`, the
G.711 one mu-law; Yate's yrtp has no session; `conf show` says the room's
rate=48000, codec=opus twice and codec=mulaw once.
Phone 2 hears phone 1's 12 kHz within 6 dB of its 1 kHz (a 16 kHz room
could not carry it: this is the full band, end to end) and phone 3's
500 Hz.  Phone 1 hears phone 2's 3 kHz and its 18 kHz, measured as the
16-20 kHz band's energy: the room's encoder (32 kbit/s) keeps that band's
energy but fills it with noise, so the tone itself is some 20 dB down
(12 kHz, at the foot of its band, keeps most of its tone: 3 dB down).
Phone 3 hears 1 and 3 kHz, and neither 12 nor 18 kHz folded into its
8 kHz (to 4 and 2 kHz: 30 dB under; 12 kHz folds onto the Nyquist
frequency, where a fold can cancel out, 18 kHz onto 2 kHz, where it cannot).
Nobody hears itself.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import baresiplib  # noqa: E402
from baresiplib import first_pt, fmtp, opus_pt  # noqa: E402
import yatelib  # noqa: E402

simlib = yatelib.simlib
tap = yatelib.Checked()
prefix = yatelib.require(tap)
found = baresiplib.require(tap, opus=True)
WATCH = 'fb-watch'
LISTEN = 6.0
SECONDS = 300
FULL = 48000
ROOM = 'conf/fb;rtp_forward=yes;rate=48000;notify=%s' % WATCH
# what each phone offers and says; the G.711 phone would hear 12 and 18 kHz folded to 4 and
# 2 kHz if anything on its way down from 48 kHz let them through
SPEC = {1: ('opus,PCMU', (1000, 12000)), 2: ('opus,PCMU', (3000, 18000)), 3: ('PCMU', (500,))}
FOLDED = (4000, 2000)
OPUS_FMTP = {'maxplaybackrate': '48000', 'sprop-maxcapturerate': '48000', 'useinbandfec': '1'}


def tones_of(n):
    """The tones phone @n says."""
    return SPEC[n][1]


with yatelib.Yate(prefix, 'opus48', engine='--config {conf}', engine_conf='',
                  sip_general='forward_sdp=yes\n', routes=[r'^830$=%s' % ROOM]) as y, \
        baresiplib.Phones() as phones:
    tap.yate = y
    tap.must(y.wait_engine(), 'conf-engine attached to Yate', y.log_tail())
    d = y.driver()
    d.watch('chan.notify')
    p = {}
    for n, (codecs, freqs) in SPEC.items():
        rate = FULL if n in (1, 2) else yatelib.RATE
        p[n] = phones.start(tap, y, 'phone%d' % n, found, baresiplib.tones(freqs, SECONDS, rate),
                            rate, codecs=codecs, opus_rate=FULL)
    for n in p:
        tap.must(p[n].dial('830'), 'phone %d calls the fullband room and is answered' % n,
                 p[n].log_tail() + '\n' + y.log_tail())
        tap.must(d.wait_users(WATCH, n), 'the room counts %d users' % n,
                 d.reports_of('chan.notify'))

    for n in (1, 2):
        offer, answer = p[n].offer_sdp(), p[n].answer_sdp()
        pt = opus_pt(offer)
        got = fmtp(answer, pt)
        tap.ok(pt is not None and first_pt(answer) == pt and opus_pt(answer) == pt and
               all(got.get(k) == v for k, v in OPUS_FMTP.items()),
               "phone %d's 200 OK answers Opus on the payload type it offered (%s), "
               'maxplaybackrate=48000 and FEC' % (n, pt),
               'offer:\n%s\nanswer:\n%s' % (offer, answer))
    answer = p[3].answer_sdp()
    tap.ok(first_pt(answer) == '0' and 'opus' not in answer.lower(),
           "G.711 phone 3's 200 OK answers mu-law", answer)
    st = y.rm('status yrtp')
    tap.ok(y.yrtp_chans() == 0, "Yate's yrtp has no session: every phone is bypassed", st)
    show = y.rm('conf show fb')
    tap.ok(',rate=48000,' in show and
           len(re.findall(r'direct=true codec=opus\b', show)) == 2 and
           len(re.findall(r'direct=true codec=mulaw\b', show)) == 1,
           'conf show: rate=48000, two legs codec=opus, one codec=mulaw', show)
    tap.ok(p[1].rate == FULL and p[2].rate == FULL and p[3].rate == yatelib.RATE,
           'phones 1 and 2 record at 48 kHz, phone 3 at 8 kHz')
    tap.ok(baresiplib.listen(list(p.values()), LISTEN),
           'the phones hear the room for %.0f s' % LISTEN,
           [p[n].heard_seconds() for n in p])

    heard = {n: p[n].heard_last(LISTEN - 1) for n in p}
    ok, levels = simlib.who_hears(heard[2], [1000, 12000, 500], tones_of(2), rate=FULL)
    print('# phone 2 (Opus, 48 kHz) heard, dB re full scale: %s' % levels)
    tap.ok(ok and abs(levels[1000] - levels[12000]) <= 6.0,
           'Opus phone 2 hears phone 1 to 12 kHz (as loud as 1 kHz, within 6 dB) and phone 3, '
           'not itself', levels)
    ok, levels = simlib.who_hears(heard[1], [3000, 500], tones_of(1), rate=FULL)
    top = round(simlib.band_level(heard[1], 16000, 20000, FULL), 1)
    print('# phone 1 (Opus, 48 kHz) heard, dB re full scale: %s, 16-20 kHz band %s'
          % (levels, top))
    tap.ok(ok and abs(levels[3000] - top) <= 6.0,
           "Opus phone 1 hears phone 2, its 18 kHz as loud as 3 kHz in the 16-20 kHz band "
           '(within 6 dB), and phone 3, not itself', (levels, top))
    ok, levels = simlib.who_hears(heard[3], [1000, 3000], tones_of(3) + FOLDED, margin=30.0)
    print('# phone 3 (G.711) heard, dB re full scale: %s' % levels)
    tap.ok(ok, 'G.711 phone 3 hears 1 kHz and 3 kHz, not itself, and neither 12 nor 18 kHz '
           'folded to 4 or 2 kHz (30 dB under)', levels)
    for n in (1, 2):
        sent = p[n].said()[-FULL * 2:]
        level = simlib.tone_level(sent, tones_of(n)[1], FULL)
        tap.ok(level > -40, 'phone %d really sent %d kHz (its own encoder dump)'
               % (n, tones_of(n)[1] // 1000), level)

    baresiplib.hang_up_all(tap, y, p, 'conf/fb')
tap.done()
