#!/usr/bin/env python3
"""test-yate-opus.py - Opus phones on real Yate, answered through ysipchan's raw SDP (TAP).

Yate 6.4.1's SDP layer has no Opus: it never names it in formats=.  With
`forward_sdp=yes` in ysipchan.conf [general], call.execute carries the
phone's whole offer as sdp_raw, and the engine answers Opus with an
sdp_raw of its own in call.answered, which ysipchan sends as the 200 OK's
body (docs/bypass.md, "Opus").  Baresip phones (tests/yate/baresiplib.py,
its opus module at 16 kHz) call Yate's SIP port, bypassed
(`;rtp_forward=yes`), into a room that mixes at 16 kHz:
  - phone 1 offers Opus (then G.711) and says a 1 kHz and a 6 kHz tone;
  - phone 2 offers Opus, G.722 and G.711 and says a 3 kHz tone;
  - phone 3 offers G.711 only and says a 500 Hz tone: in the same Yate
    with forward_sdp on, it is answered mu-law from formats= as before.
The Opus phones' 200 OKs answer Opus on the payload type they offered,
asking for in-band FEC; Yate's yrtp has no session for any of them, and
the engine's `conf show` says codec=opus for two legs and mulaw for one.
Phone 2 hears both of phone 1's tones at about the same level (Opus at
16 kHz carries 6 kHz) and phone 3's; phone 1 hears phones 2 and 3, not
itself; phone 3 hears 1 kHz and 3 kHz, and no 6 kHz folded to 2 kHz.
Phone 2 then holds and resumes: its re-INVITEs come with sdp_raw and the
engine answers them raw (recvonly, then sendrecv, Opus on the same payload
type, the SDP's version one more each time); nobody hears it meanwhile.
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
WATCH = 'op-watch'
LISTEN = 6.0
HOLD = 3.0  # seconds Opus phone 2 holds
SECONDS = 300
WIDE = 16000
ROOM = 'conf/op;rtp_forward=yes;rate=16000;notify=%s' % WATCH

# g722webrtc: Yate knows G.722, so phone 2's formats= has it and Opus wins by codecs= alone
with yatelib.Yate(prefix, 'opus', engine='--config {conf}', engine_conf='',
                  modules=yatelib.MODULES + ('g722webrtc',), sip_general='forward_sdp=yes\n',
                  routes=[r'^820$=%s' % ROOM]) as y, \
        baresiplib.Phones() as phones:
    tap.yate = y
    tap.must(y.wait_engine(), 'conf-engine attached to Yate', y.log_tail())
    d = y.driver()
    d.watch('chan.notify')
    p = {}
    spec = {1: ('opus,PCMU', (1000, 6000)), 2: ('opus,G722,PCMU', (3000,)), 3: ('PCMU', (500,))}
    for n, (codecs, freqs) in spec.items():
        rate = WIDE if n in (1, 2) else yatelib.RATE
        p[n] = phones.start(tap, y, 'phone%d' % n, found, baresiplib.tones(freqs, SECONDS, rate),
                            rate, codecs=codecs)
    for n in p:
        tap.must(p[n].dial('820'), 'phone %d calls the room and is answered' % n,
                 p[n].log_tail() + '\n' + y.log_tail())
        tap.must(d.wait_users(WATCH, n), 'the room counts %d users' % n,
                 d.reports_of('chan.notify'))

    for n in (1, 2):
        offer, answer = p[n].offer_sdp(), p[n].answer_sdp()
        pt = opus_pt(offer)
        tap.ok(pt is not None and first_pt(answer) == pt and opus_pt(answer) == pt and
               fmtp(answer, pt).get('useinbandfec') == '1',
               "phone %d's 200 OK answers Opus on the payload type it offered (%s), with FEC"
               % (n, pt), 'offer:\n%s\nanswer:\n%s' % (offer, answer))
    answer = p[3].answer_sdp()
    tap.ok(first_pt(answer) == '0' and 'opus' not in answer.lower(),
           "G.711 phone 3's 200 OK answers mu-law, as without forward_sdp", answer)
    st = y.rm('status yrtp')
    tap.ok(y.yrtp_chans() == 0, "Yate's yrtp has no session: every phone is bypassed", st)
    show = y.rm('conf show op')
    tap.ok(len(re.findall(r'direct=true codec=opus\b', show)) == 2 and
           len(re.findall(r'direct=true codec=mulaw\b', show)) == 1,
           "conf show: two legs codec=opus, one codec=mulaw", show)
    tap.ok(p[1].rate == WIDE and p[2].rate == WIDE and p[3].rate == yatelib.RATE,
           'phones 1 and 2 record at 16 kHz, phone 3 at 8 kHz')
    tap.ok(baresiplib.listen(list(p.values()), LISTEN),
           'the phones hear the room for %.0f s' % LISTEN,
           [p[n].heard_seconds() for n in p])

    start = {n: max(0.0, p[n].heard_seconds() - LISTEN + 1) for n in p}
    heard = {n: p[n].heard()[int(start[n] * p[n].rate):] for n in p}
    ok, levels = simlib.who_hears(heard[2], [1000, 6000, 500], [3000], rate=WIDE)
    print('# phone 2 (Opus) heard, dB re full scale: %s' % levels)
    tap.ok(ok and abs(levels[1000] - levels[6000]) <= 4.0,
           'Opus phone 2 hears phone 1 (6 kHz as loud as 1 kHz, within 4 dB) and phone 3, '
           'not itself', levels)
    ok, levels = simlib.who_hears(heard[1], [3000, 500], [1000, 6000], rate=WIDE)
    print('# phone 1 (Opus) heard, dB re full scale: %s' % levels)
    tap.ok(ok, 'Opus phone 1 hears phones 2 and 3, not itself', levels)
    ok, levels = simlib.who_hears(heard[3], [1000, 3000], [2000], margin=30.0)
    print('# phone 3 (G.711) heard, dB re full scale: %s' % levels)
    tap.ok(ok, 'G.711 phone 3 hears 1 kHz and 3 kHz, and no 6 kHz folded to 2 kHz '
           '(30 dB under)', levels)
    said = p[1].said()
    tap.ok(simlib.tone_level(said[-WIDE * 2:], 6000, WIDE) > -40,
           'phone 1 really sent 6 kHz (its own encoder dump)',
           simlib.tone_level(said[-WIDE * 2:], 6000, WIDE))

    # Opus phone 2 holds (a re-INVITE with sdp_raw, answered raw by the engine), then resumes
    ans = p[2].command('hold')
    tap.ok(bool(ans and ans.get('ok')), 'Opus phone 2 puts the call on hold', ans)
    held_at = p[1].heard_seconds()
    tap.ok(baresiplib.listen([p[1]], HOLD), 'the room goes on for %.0f s' % HOLD)
    resumed_at = p[1].heard_seconds()
    ans = p[2].command('resume')
    tap.ok(bool(ans and ans.get('ok')), 'phone 2 resumes', ans)
    tap.ok(baresiplib.listen([p[1]], 3.0), 'the room goes on after the resume')
    back = p[1].heard_seconds()
    answers = p[2].trace_sdps(r'SIP/2\.0 200 OK')
    tap.ok(len(answers) == 3 and all(opus_pt(a) == opus_pt(p[2].offer_sdp()) for a in answers) and
           [re.findall(r'^a=(sendrecv|recvonly)', a, re.M) for a in answers] ==
           [['sendrecv'], ['recvonly'], ['sendrecv']] and
           [re.findall(r'^o=conf-engine \d+ (\d+) ', a, re.M) for a in answers] ==
           [['1'], ['2'], ['3']],
           "the engine answers phone 2's hold recvonly and its resume sendrecv, Opus still, "
           'the SDP version one more each time', answers)
    hold = p[1].heard()[int((held_at + 1) * WIDE):int(resumed_at * WIDE)]
    ok, levels = simlib.who_hears(hold, [500], [3000], rate=WIDE)
    tap.ok(ok, 'while phone 2 holds, phone 1 hears phone 3, not phone 2', levels)
    after = p[1].heard()[int((resumed_at + 1) * WIDE):int(back * WIDE)]
    ok, levels = simlib.who_hears(after, [3000, 500], [1000], rate=WIDE)
    tap.ok(ok, 'after the resume phone 1 hears phone 2 again', levels)

    baresiplib.hang_up_all(tap, y, p, 'conf/op')
tap.done()
