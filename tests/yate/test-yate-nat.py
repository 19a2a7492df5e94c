#!/usr/bin/env python3
"""test-yate-nat.py - bypassed phones behind a NAT on real Yate: latching, rebinding, RFC 4733 (TAP).

Two phones of tests/yate/siplib.py call `conf/nat` through Yate's SIP port
with `;rtp_forward=yes`, so their RTP goes straight to conf-engine:
  - phone A is behind a NAT: its SDP names an RTP port it never sends
    from. The engine must follow its packets to the port they come from
    (latching) and send there, or A hears nothing;
  - mid-call A's NAT moves it to another port (same SSRC): the engine
    follows again, both ways;
  - A sends keys as RFC 4733 telephone-events in its RTP, which only the
    engine sees: the room reports each once (event=dtmf, detected=rfc2833);
  - phone B (no NAT) re-INVITEs: hold (a=sendonly) and back are answered
    200 by the engine through Yate; an offer with A-law only, where the
    call ran mu-law, switches the call to A-law, heard right both ways.
Who hears whom is checked on what each phone received, before and after
the move: each hears the other's tone and not its own.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import siplib  # noqa: E402
import yatelib  # noqa: E402

tap = yatelib.Checked()
prefix = yatelib.require(tap)
WATCH = 'nat-watch'
RATE = yatelib.RATE
hears = yatelib.simlib.who_hears


def grow(phone, seconds):
    """Wait until @phone heard @seconds more audio; its heard samples from then."""
    start = len(phone.heard)
    ok = yatelib.wait_for(lambda: len(phone.heard) >= start + seconds * RATE,
                          timeout=yatelib.WAIT + seconds)
    return start if ok else None


def hears_next(phone, present, absent, name, grown=None):
    """@phone's next 3 s of audio, its first second left out, must pass who_hears(@present,
    @absent): TAP line @name.  With @grown, a TAP line of that name first says whether the
    audio came at all; without it, audio that never came fails @name."""
    start = grow(phone, 3)
    if grown:
        tap.ok(start is not None, grown, (phone.pt, phone.received, phone.got_from))
    if start is not None:
        ok, lv = hears(phone.heard[start + RATE:], present, absent)
        tap.ok(ok, name, lv)
    elif not grown:
        tap.ok(False, name, (phone.pt, phone.received))


with yatelib.Yate(prefix, 'nat', engine='--config {conf}',
                  routes=[r'^800$=conf/nat;notify=%s;lonely=true;rtp_forward=yes' % WATCH]) as y, \
        siplib.Phone(y.sip_port, 'a', yatelib.bursts(440, 4), nat=True) as a, \
        siplib.Phone(y.sip_port, 'b', yatelib.bursts(1000, 4)) as b:
    tap.yate = y
    tap.must(y.wait_engine(), 'conf-engine attached to Yate', y.log_tail())
    d = y.driver()
    d.watch('chan.notify')
    tap.must(a.call('800'), 'phone A (behind a NAT) calls 800 and is answered', a.answers[-1:])
    tap.must(b.call('800'), 'phone B calls 800 and is answered', b.answers[-1:])
    tap.must(d.wait_users(WATCH, 2), 'the room counts 2 users', d.reports_of('chan.notify'))
    tap.ok(a.far == b.far and a.far[0] == '127.0.0.1' and a.far[1] > 0,
           "Yate's 200 OKs name the engine's RTP end, the same for both (one media thread)",
           (a.answer_sdp, b.answer_sdp))
    tap.ok(re.search(r'chans=0\b', y.rm('status yrtp')) is not None,
           "Yate relays nothing: no yrtp session", y.rm('status yrtp'))
    tap.ok(a.sdp_port not in a.sent_from, "A's SDP names a port it never sends from",
           (a.sdp_port, a.sent_from))

    # latching: the engine found A at the port its packets come from, and answers there
    hears_next(a, [1000], [440], 'A hears B (1000 Hz) and not itself (440 Hz)',
               grown='A hears the room although its SDP port is not where it is')
    hears_next(b, [440], [1000], 'B hears A (440 Hz) and not itself (1000 Hz)')

    # A's NAT moves it: same stream from a new port
    new_port = a.rebind()
    hears_next(a, [1000], [440], 'after the move A hears B, not itself',
               grown="after A's NAT moved it to port %d the engine follows and A hears the "
               'room again' % new_port)
    hears_next(b, [440], [1000], 'after the move B still hears A')

    # keys in A's RTP
    for digit in '5#':
        a.send_dtmf(digit)
        got = d.wait_seen('chan.notify', targetid=WATCH, event='dtmf', text=digit,
                          detected='rfc2833')
        tap.ok(bool(got), "A's RFC 4733 key %s reaches the room" % digit,
               [l for l in d.reports if l.get('event') == 'dtmf'])
    dt = [l.get('text') for l in d.reports_of('chan.notify', targetid=WATCH, event='dtmf')]
    tap.ok(dt == ['5', '#'], 'each key once', dt)

    # B's re-INVITEs
    tap.ok(b.reinvite(direction='sendonly') == 200, 'B holds: its re-INVITE is answered 200',
           b.answers[-1:])
    tap.ok(b.reinvite() == 200, 'B resumes: 200', b.answers[-1:])
    tap.ok(b.reinvite(pts=[8]) == 200 and b.pt == 8,
           'B offers A-law only on its mu-law call: answered 200 with A-law', b.answers[-1:])
    hears_next(b, [440], [1000], 'in A-law B still hears A, not itself (both ways decoded '
               'right)', grown="B's call goes on in A-law")
    hears_next(a, [1000], [440], 'A hears B in A-law: the engine decodes it right')
    m = re.search(r'direct_legs=(\d+)', y.rm('status conf-engine'))
    tap.ok(m and m.group(1) == '2', 'the engine counts 2 direct legs', y.rm('status conf-engine'))
    tap.ok(a.hangup() and b.hangup(), 'both hang up', (a.answers[-1:], b.answers[-1:]))
    tap.ok(bool(yatelib.wait_for(lambda: 'conf/nat' not in y.rm('conf list'))),
           'no room is left', y.rm('conf list'))

tap.done()
