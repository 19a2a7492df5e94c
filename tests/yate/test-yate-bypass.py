#!/usr/bin/env python3
"""test-yate-bypass.py - media bypass on real Yate: SIP phones' RTP straight to conf-engine (TAP).

Four baresip phones (tests/yate/baresiplib.py) call Yate's SIP port into one
engine room, `conf/bp` with `notify=bp-watch`:
  - phone 1 through Yate's regexroute with `;rtp_forward=yes` (what the
    docs tell an operator to add),
  - phone 2 through the engine's own dialplan (`[dialplan]`, which adds
    rtp_forward=yes for the engine's targets by itself),
  - phone 3 through regexroute with `;rtp_forward=yes` and bypass=false,
  - phone 4 through regexroute without rtp_forward: ysipchan turns
    forwarding off in callRouted, and the engine says so once in its log.
Phones 1 and 2 are bypassed: Yate's yrtp has sessions for phones 3 and 4
only (`status yrtp` over rmanager), the engine counts 2 direct legs, and
Yate's 200 OK carried the engine's RTP port.  Everyone hears the others
and not themselves, whichever path their audio takes (simlib.who_hears on
what each phone recorded).  Phone 2 sends DTMF as RFC 2833 (now decoded by
the engine, since Yate never sees that RTP) and as SIP INFO (through
Yate's ysipchan, as before): both reach the room as event=dtmf.  Phone 1
puts the call on hold for longer than the engine's rtp_timeout and resumes:
both re-INVITEs are answered by the engine through Yate (call.update), the
call survives its silence, nobody hears it while it holds, and it is heard
again after.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import baresiplib  # noqa: E402
import yatelib  # noqa: E402

tap = yatelib.Checked()
prefix = yatelib.require(tap)
found = baresiplib.require(tap)
WATCH = 'bp-watch'
LISTEN = 5.0
TONES = {1: 440, 2: 1000, 3: 1600, 4: 2200}
NUMBER = {1: '800', 2: '802', 3: '803', 4: '804'}


def engine_count(y, key):
    m = re.search(r'%s=(\d+)' % key, y.rm('status conf-engine'))
    return int(m.group(1)) if m else None


ROOM = 'conf/bp;notify=%s' % WATCH
HOLD = 5.0  # seconds phone 1 holds: longer than the engine's rtp_timeout below
with yatelib.Yate(prefix, 'bypass', engine='--config {conf}',
                  engine_conf='[conference]\nrtp_timeout=3000\n',
                  routes=[r'^800$=%s;rtp_forward=yes' % ROOM,
                          r'^803$=%s;rtp_forward=yes;bypass=false' % ROOM,
                          r'^804$=%s' % ROOM]) as y, \
        baresiplib.Phones() as phones:
    tap.yate = y
    # the engine's own dialplan routes 802 (Yate's regexroute does not know it)
    with open(y.path('dialplan.conf'), 'w') as f:
        f.write('[default]\n^802$=%s\n' % ROOM)
    tap.must(y.wait_engine(), 'conf-engine attached to Yate', y.log_tail())
    y.rm('conf reload dialplan')
    d = y.driver()
    d.watch('chan.notify')
    seconds = 300
    p = {}
    for n, f in TONES.items():
        p[n] = phones.start(tap, y, 'phone%d' % n, found, yatelib.bursts(f, seconds))
    for n in (1, 2, 3, 4):
        tap.must(p[n].dial(NUMBER[n]), 'phone %d calls %s and is answered' % (n, NUMBER[n]),
             p[n].log_tail() + '\n' + y.log_tail())
        tap.must(d.wait_users(WATCH, n), 'the room counts %d users' % n,
                 d.reports_of('chan.notify'))

    # who carries the audio
    # a relayed call has two yrtp sessions (its sip/N and the engine's dumb/N side)
    st = y.rm('status yrtp')
    tap.ok(y.yrtp_chans() == 4 and not re.search(r'=sip/[12]\b', st) and
           re.search(r'=sip/3\b', st) and re.search(r'=sip/4\b', st),
           "Yate's yrtp has sessions for phones 3 and 4 only (chans=4), none for 1 and 2", st)
    tap.ok(engine_count(y, 'direct_legs') == 2,
           'the engine took phones 1 and 2 straight (direct_legs=2)', y.rm('status conf-engine'))
    log = y.log_text()  # the engine's log lines go to Yate's (extmodule [scripts])
    tap.ok(log.count('without rtp_forward=yes') == 1,
           "phone 4's route (no rtp_forward) is warned about once", log[-2000:])
    tap.ok(baresiplib.listen([p[n] for n in p], LISTEN),
           'every phone hears the room for %.0f s' % LISTEN, [p[n].heard_seconds() for n in p])

    # DTMF from a bypassed phone: RFC 2833 in its RTP (the engine's) and SIP INFO (Yate's)
    for digit, how in (('1', 'rfc2833'), ('7', 'rfc2833'), ('4', 'sip-info'), ('#', 'rfc2833')):
        sent = p[2].send_rfc2833(digit) if how == 'rfc2833' else p[2].send_info(digit)
        got = sent and d.wait_seen('chan.notify', targetid=WATCH, event='dtmf', text=digit,
                                   detected=how)
        tap.ok(bool(got), "bypassed phone 2's DTMF %s as %s reaches the room (event=dtmf)"
               % (digit, how), [l for l in d.reports if l.get('event') == 'dtmf'])
    dt = [l.get('text') for l in d.reports_of('chan.notify', targetid=WATCH, event='dtmf')]
    tap.ok(dt == ['1', '7', '4', '#'], 'each key once, in order', dt)

    # phone 1 holds (a re-INVITE through Yate, answered by the engine), then resumes
    since = len(p[1].events)
    ans = p[1].command('hold')
    tap.ok(bool(ans and ans.get('ok')), 'bypassed phone 1 puts the call on hold', ans)
    held_at = p[2].heard_seconds()
    tap.ok(bool(yatelib.wait_for(lambda: p[2].heard_seconds() >= held_at + HOLD,
                                 timeout=yatelib.WAIT + HOLD)),
           'the room goes on for %.0f s (longer than rtp_timeout)' % HOLD)
    resumed_at = p[2].heard_seconds()
    tap.ok(p[1].closed() is None, 'phone 1 is still in its call after its hold: its silence '
           'while holding is no RTP timeout', p[1].log_tail())
    ans = p[1].command('resume')
    tap.ok(bool(ans and ans.get('ok')), 'phone 1 resumes', ans)
    tap.ok(baresiplib.listen([p[2]], 4.0), 'the room goes on after the resume')
    back = p[2].heard_seconds()
    log = y.log_text()
    tap.ok('nomedia' not in log and log.count('Yate took no answer') == 0,
           "the engine answered phone 1's re-INVITEs", log[-3000:])
    hold = p[2].heard()[int((held_at + 1) * yatelib.RATE):int(resumed_at * yatelib.RATE)]
    ok, levels = yatelib.simlib.who_hears(hold, [TONES[3], TONES[4]], [TONES[1]])
    tap.ok(ok, 'while phone 1 holds, phone 2 hears phones 3 and 4, not phone 1', levels)
    after = p[2].heard()[int((resumed_at + 1) * yatelib.RATE):int(back * yatelib.RATE)]
    ok, levels = yatelib.simlib.who_hears(after, [TONES[1], TONES[3]], [TONES[2]])
    tap.ok(ok, 'after the resume phone 2 hears phone 1 again', levels)

    until = {n: p[n].heard_seconds() for n in p}
    for n in p:
        tap.ok(p[n].closed() is None, 'phone %d is still in its call' % n, p[n].log_tail())
        tap.ok(p[n].hangup(), 'phone %d hangs up' % n, p[n].log_tail())
    empty = yatelib.wait_for(lambda: 'conf/bp' not in y.rm('conf list'))
    tap.ok(bool(empty), 'every phone hung up: no room left', y.rm('conf list'))
    tap.ok(bool(yatelib.wait_for(lambda: y.yrtp_chans() == 0)), "no yrtp session is left",
           y.rm('status yrtp'))

    for n in p:
        heard = p[n].heard()[int(1 * yatelib.RATE):int(until[n] * yatelib.RATE)]
        others = [TONES[m] for m in TONES if m != n]
        ok, levels = yatelib.simlib.who_hears(heard, others, [TONES[n]])
        tap.ok(len(heard) > 2 * yatelib.RATE and ok,
               'phone %d (%s) hears the three others and not itself'
               % (n, 'bypassed' if n in (1, 2) else 'relayed'), (len(heard), levels))

tap.done()
