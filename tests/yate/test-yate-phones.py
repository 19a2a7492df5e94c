#!/usr/bin/env python3
"""test-yate-phones.py - baresip phones call Yate into one room: mix-minus, late joiner, DTMF (TAP).

Four baresip processes (tests/yate/baresiplib.py) call Yate's SIP port;
regexroute sends 800 to `conf/phones` with `notify=phones-watch`, so the
room reports to the test's script on Yate's extmodule socket.  Each phone
plays a WAV (aufile) and records what it hears (sndfile):
  - phones 1, 2 and 3 (440 Hz bursts, 1000 Hz bursts, silence): 1 hears
    1000 Hz and not its own 440 Hz, 2 the reverse, 3 hears both;
  - phone 3 sends DTMF as RFC 2833 telephone-events (Yate's yrtpchan decodes
    them) and as SIP INFO (ysipchan): each digit reaches conf-engine as
    chan.dtmf, seen as the room's chan.notify event=dtmf with the digit, the
    way it was sent (detected=rfc2833 / sip-info), phone 3's leg and call;
  - phone 1 hangs up; phone 4 (700 Hz bursts) joins late: it hears phone 2
    and neither phone 1 nor itself, and phones 2 and 3 hear it, no longer 1.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import baresiplib  # noqa: E402
import yatelib  # noqa: E402

tap = yatelib.Checked()
prefix = yatelib.require(tap)
found = baresiplib.require(tap)
WATCH = 'phones-watch'
LISTEN = 5.0  # seconds of audio each phone records per phase (by its recording, not the clock)
h = yatelib.heard


def notifies(d, event, **params):
    return d.reports_of('chan.notify', targetid=WATCH, event=event, **params)


def dtmf(d, phone, digit, how):
    """Send @digit from @phone @how ('rfc2833' or 'sip-info'); the room's dtmf report, or None."""
    sent = phone.send_rfc2833(digit) if how == 'rfc2833' else phone.send_info(digit)
    if not sent:
        return None
    got = d.wait_seen('chan.notify', targetid=WATCH, event='dtmf', text=digit, detected=how)
    return got[0] if got else None


with yatelib.Yate(prefix, 'phones', engine='--config {conf}',
                  routes=[r'^800$=conf/phones;notify=%s' % WATCH]) as y, \
        baresiplib.Phones() as phones:
    tap.yate = y
    tap.must(y.wait_engine(), 'conf-engine attached to Yate', y.log_tail())
    d = y.driver()
    d.watch('chan.notify')
    seconds = 300  # aufile ends the call at the end of its file: longer than any run
    plays = {1: yatelib.bursts(440, seconds), 2: yatelib.bursts(1000, seconds),
             3: [0] * (seconds * yatelib.RATE), 4: yatelib.bursts(700, seconds)}
    p = {}
    for n, samples in plays.items():
        p[n] = phones.start(tap, y, 'phone%d' % n, found, samples)

    for n in (1, 2, 3):
        tap.must(p[n].dial('800'), 'phone %d calls 800: Yate routes it to conf/phones, answered' % n,
                 p[n].log_tail() + '\n' + y.log_tail())
        tap.must(d.wait_users(WATCH, n), 'the room counts %d user%s' % (n, 's' if n > 1 else ''),
                 d.reports_of('chan.notify'))
    tap.ok(baresiplib.listen([p[1], p[2], p[3]], LISTEN),
           'phones 1-3 hear the room for %.0f s' % LISTEN,
           [p[n].heard_seconds() for n in (1, 2, 3)])

    # DTMF from phone 3, both ways a phone sends it; each must reach the engine as chan.dtmf
    leg3 = None
    for digit, how in (('1', 'rfc2833'), ('2', 'rfc2833'), ('3', 'rfc2833'),
                       ('4', 'sip-info'), ('5', 'sip-info'), ('#', 'sip-info')):
        r = dtmf(d, p[3], digit, how)
        tap.ok(r is not None, "phone 3's DTMF %s sent as %s reaches conf-engine (chan.notify "
               'event=dtmf text=%s detected=%s)' % (digit, how, digit, how),
               [l for l in d.reports if l.get('event') == 'dtmf'] or p[3].log_tail())
        if r is None:
            continue
        leg3 = leg3 or r.get('id')
        tap.ok(r.get('id') == leg3 and r.get('id', '').startswith('dumb/') and
               r.get('address') == '127.0.0.1:%d' % p[3].sip_port and
               (r.get('callid') or '').startswith('sip/%s/' % p[3].call_id) and
               r.get('room') == 'phones',
               "DTMF %s is phone 3's: its leg, its SIP address and call" % digit, r)
    dtmfs = notifies(d, 'dtmf')
    tap.ok([l.get('text') for l in dtmfs] == list('12345#'),
           'each digit reached the engine once, in order', [l.text for l in dtmfs])

    # phone 1 leaves; phone 4 joins late
    tap.ok(p[1].hangup(), 'phone 1 hangs up', p[1].log_tail())
    tap.ok(d.wait_users(WATCH, 2), 'the room counts 2 users after phone 1 left',
           d.reports_of('chan.notify'))
    left_at = {n: p[n].heard_seconds() for n in (2, 3)}
    tap.must(p[4].dial('800'), 'phone 4 calls 800 late and is answered', p[4].log_tail())
    tap.ok(d.wait_users(WATCH, 3), 'the room counts 3 users with phone 4', notifies(d, 'joined'))
    joined_at = {n: p[n].heard_seconds() for n in (2, 3)}
    tap.ok(baresiplib.listen([p[2], p[3], p[4]], LISTEN),
           'phones 2-4 hear the room for %.0f s' % LISTEN,
           [p[n].heard_seconds() for n in (2, 3, 4)])
    until = {n: p[n].heard_seconds() for n in (2, 3, 4)}  # before anyone else leaves
    for n in (2, 3, 4):
        tap.ok(p[n].closed() is None, 'phone %d is still in its call' % n, p[n].log_tail())
        tap.ok(p[n].hangup(), 'phone %d hangs up' % n, p[n].log_tail())
    empty = yatelib.wait_for(lambda: 'conf/phones' not in y.rm('conf list'))
    tap.ok(bool(empty), 'every phone hung up: the engine has no room left', y.rm('conf list'))

    heard = {n: p[n].heard() for n in p}
    said = {n: p[n].said() for n in p}
    for n, f in ((1, 440), (2, 1000), (4, 700)):
        tap.ok(h(said[n], f) > 0.8, 'phone %d sent its %d Hz (sndfile, encoder side)' % (n, f),
               (len(said[n]), h(said[n], f)))

    # who hears whom: the others' tones present, the phone's own (and a gone phone's) absent
    hears = yatelib.simlib.who_hears

    def check(samples, present, absent, what):
        ok, levels = hears(samples, present, absent)
        tap.ok(len(samples) > 2 * yatelib.RATE and ok, what, (len(samples), levels))

    check(heard[1], [1000], [440], 'phone 1 hears phone 2 (1000 Hz), not itself (440 Hz)')
    check(heard[2][:int(left_at[2] * yatelib.RATE)], [440], [1000],
          'phone 2 hears phone 1 (440 Hz), not itself (1000 Hz)')
    check(heard[3][:int(left_at[3] * yatelib.RATE)], [440, 1000], [],
          'phone 3, silent, hears phones 1 and 2')

    # after phone 4 joined (a second's margin for what was already on its way)
    late = {n: heard[n][int((joined_at[n] + 1) * yatelib.RATE):int(until[n] * yatelib.RATE)]
            for n in (2, 3)}
    check(heard[4][int(1 * yatelib.RATE):int(until[4] * yatelib.RATE)], [1000], [440, 700],
          'phone 4, joining late, hears phone 2 (1000 Hz): not phone 1, gone before it came, '
          'not itself (700 Hz)')
    check(late[2], [700], [440, 1000],
          'phone 2 then hears phone 4 (700 Hz): not phone 1, not itself')
    check(late[3], [700, 1000], [440], 'phone 3 then hears phones 2 and 4, no more of phone 1')

tap.done()
