#!/usr/bin/env python3
"""test-bypass-sim.py - media bypass of SIP callers through yate-sim, with the real engine (TAP).

One room, reached by a route carrying rtp_forward=yes (what a regexroute
rule ";rtp_forward=yes" gives): three callers offer RTP forwarding, as
Yate's SIP channel does for a phone whose INVITE had SDP (forward=yes;
1003 is behind a NAT: it sends from another port than it announced, and
its NAT moves it to yet another one mid-call), and one plain caller.  Each
plays a tone of its own and records what it hears.

The engine takes the three (the simulator's "forward" event says
state=on): Yate has no RTP session for them and one for the plain caller;
every caller hears the three others and not itself (simlib.who_hears),
also after 1003's NAT moved it (the engine latches to where its packets
come from); a key pressed by a forwarded caller goes as RFC 4733 events in
its RTP, no chan.dtmf through Yate, and reaches the room (chan.notify
event=dtmf to the room's notify= target).  With [conference] bypass=no the
engine refuses, Yate turns forwarding off after call.execute, and every
caller is relayed through its Yate RTP session (chan.rtp), the key
through Yate as chan.dtmf.  With --forward-sdp (ysipchan's forward_sdp=yes)
call.execute carries each forwarding caller's SDP as sdp_raw, and a
codecs= without opus answers them all as before, the Opus phone too.
Skipped when conf-engine is not built.
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402

tap = simlib.engine_tap('media bypass through the simulator')

FREQ = {'1001': 440, '1002': 1000, '1003': 1600, '1004': 2200}
FORWARDED = ('1001', '1002', '1003')
PLAIN = '1004'
# what each recording is judged on (seconds of what the phone received): everybody in,
# before the key and the rebinding (A), and after the NAT moved 1003 (B)
WINDOW_A = (1.4, 2.4)
WINDOW_B = (4.2, 5.4)

cfgdir = tempfile.mkdtemp(prefix='ce-bypass-sim-')


def config(extra=''):
    """An engine configuration without prompts (they would cover the tones)."""
    path = os.path.join(cfgdir, 'conf-engine-%d.conf' % len(os.listdir(cfgdir)))
    with open(path, 'w') as f:
        f.write('[conference]\nenter_prompt=\nleave_prompt=\nlonely_prompt=\n' + extra)
    return path


def scenario(rebind, opus=()):
    """The calls; the phones of @opus offer Opus first (seen only with --forward-sdp)."""
    lines = ['route ^800$ conf/bp rtp_forward=yes notify=conf-monitor/bp']
    for i, who in enumerate(sorted(FREQ)):
        opts = ' forward=yes' if who in FORWARDED else ''
        opts += ' nat=yes' if who == '1003' else ''
        opts += ' opus=yes' if who in opus else ''
        lines.append('at %.1f call %s 800 play=tone:%d@0.2 record=%s.wav%s' %
                     (0.1 * i, who, FREQ[who], who, opts))
    lines.append('at 2.8 dtmf 1001 5')
    if rebind:
        lines.append('at 3.2 rebind 1003')
    lines += ['at 5.8 hangup all', 'end 6.3']
    return '\n'.join(lines) + '\n'


def yrtp(r, who):
    """Yate's RTP sessions (chan.rtp) made for caller @who."""
    return len(r.events('rtp', who=who))


def forwarding(r, state, by=None):
    """Whether the three forwarding callers' "forward" events reached @state (@by)."""
    want = {'state': state, 'by': by} if by else {'state': state}
    return all(r.events('forward', who=w, **want) for w in FORWARDED)


r = simlib.run(scenario(rebind=True), module=simlib.ENGINE + ['--config', config()])
tap.ok(r.ok and not r.problems(), 'three forwarding callers and a plain one run cleanly',
       r.why())
tap.ok(forwarding(r, 'offered') and forwarding(r, 'on'),
       'the engine takes the three forwarding callers\' RTP (rtp_forward=accepted, its own '
       'address in call.answered)', r.events('forward'))
tap.ok(all(yrtp(r, w) == 0 for w in FORWARDED) and yrtp(r, PLAIN) == 1,
       'Yate has no RTP session for a forwarded caller, one for the plain caller',
       {w: yrtp(r, w) for w in FREQ})
simlib.hears_all(tap, r, FREQ, WINDOW_A, 'in the room: ')
tap.ok([e['how'] for e in r.events('dtmf', who='1001')] == ['rfc4733'] and
       not r.messages('chan.dtmf', id='sip/1'),
       'the key goes in the RTP as RFC 4733 events, no chan.dtmf through Yate',
       r.events('dtmf'))
tap.ok(r.messages('chan.notify', event='dtmf', text='5'),
       'the forwarded caller\'s key reaches the room (chan.notify event=dtmf)',
       [m['params'] for m in r.messages('chan.notify')][-3:])
tap.ok(r.events('rebind', who='1003'), 'the NAT moved 1003 to another port mid-call')
simlib.hears_all(tap, r, FREQ, WINDOW_B, 'after the NAT moved 1003 (latching): ')
r.cleanup()

# [conference] bypass=no: the engine refuses, and every caller is relayed.
r = simlib.run(scenario(rebind=False), module=simlib.ENGINE + ['--config', config('bypass=no\n')])
tap.ok(r.ok and not r.problems(), 'bypass=no: the same calls run cleanly', r.why())
tap.ok(forwarding(r, 'refused', 'execute') and all(yrtp(r, w) == 1 for w in FREQ),
       'bypass=no: Yate turns forwarding off after call.execute, every caller has its Yate RTP '
       'session', {w: yrtp(r, w) for w in FREQ})
simlib.hears_all(tap, r, FREQ, WINDOW_A, 'bypass=no: ')
tap.ok(r.messages('chan.dtmf', id='sip/1', text='5', detected='rfc2833') and
       r.messages('chan.notify', event='dtmf', text='5'),
       'bypass=no: the key comes through Yate as chan.dtmf and reaches the room')
r.cleanup()

# ysipchan's forward_sdp=yes: every forwarding caller's SDP comes whole (sdp_raw), 1002's with
# Opus first; codecs= without opus answers all from formats= as before, no sdp_raw answered.
r = simlib.run(scenario(rebind=False, opus=('1002',)), args=['--forward-sdp'],
               module=simlib.ENGINE + ['--config', config('codecs=mulaw,alaw\n')])
tap.ok(r.ok and not r.problems(), 'forward_sdp: the same calls run cleanly', r.why())
raws = [m['params'].get('sdp_raw', '') for m in r.messages('call.execute')
        if 'rtp_forward' in m['params']]
raws = sorted(set(raws) - {''})  # each as often as the message went by (dispatched, seen)
tap.ok(len(raws) == 3 and all(x.startswith('v=0\r\n') for x in raws) and
       sum('a=rtpmap:111 opus/48000/2\r\n' in x for x in raws) == 1,
       'forward_sdp: call.execute carries each forwarding caller\'s SDP as sdp_raw (CRLF '
       'lines), Opus in one', raws)
tap.ok(forwarding(r, 'on') and
       all(e['format'] == 'mulaw' for e in r.events('forward', state='on')) and
       not any('sdp_raw' in m['params'] for m in r.messages('call.answered')) and
       len(r.messages('call.answered')) >= 3,
       'forward_sdp, codecs=mulaw,alaw: the Opus phone too is answered mu-law from formats=, '
       'no sdp_raw in the answer', r.events('forward', state='on'))
simlib.hears_all(tap, r, FREQ, WINDOW_A, 'forward_sdp, G.711 only: ')
r.cleanup()

# Re-INVITEs, as ysipchan passes a forwarded phone's to the engine (call.update
# operation=request, answered by operation=notify): 1002 holds the call and resumes it,
# 1001 then offers A-law alone (its first answer listed both laws), then mu-law alone, which
# Yate could not switch back to (its media keeps the formats narrowed to A-law): refused.
HOLD, RESUME, ALAW = 2.6, 4.2, 5.0
lines = scenario(rebind=False).splitlines()[:-2]
lines += ['at %.1f reinvite 1002 hold' % HOLD, 'at %.1f reinvite 1002 resume' % RESUME,
          'at %.1f reinvite 1001 alaw' % ALAW, 'at 6.0 reinvite 1001 mulaw',
          'at 6.6 hangup all', 'end 7.1']
r = simlib.run('\n'.join(lines) + '\n', module=simlib.ENGINE + ['--config', config()])
tap.ok(r.ok and not r.problems(), 're-INVITEs: the calls run cleanly', r.why())
answered = [(e['who'], e['format'], e['held']) for e in r.events('reinvite', state='answered')]
tap.ok(answered == [('1002', 'mulaw', True), ('1002', 'mulaw', False), ('1001', 'alaw', False)],
       're-INVITEs: the engine answers hold, resume and A-law alone, the phone then sending '
       'in the law answered', r.events('reinvite'))
tap.ok([(e['who'], e['code']) for e in r.events('reinvite', state='refused')] == [('1001', '488')],
       're-INVITEs: mu-law alone after A-law is refused with 488, the call going on in A-law',
       r.events('reinvite'))
notifies = r.messages('call.update', operation='notify')
tap.ok(len([m for m in notifies if m['handled']]) == 3 and
       all(m['params'].get('error') == 'nocall' for m in notifies if not m['handled']),
       're-INVITEs: each answer is a call.update notify that Yate takes once the request is '
       'answered (one offered earlier gets error=nocall and is offered again)',
       [(m['handled'], m['params'].get('error')) for m in notifies])
others = {w: f for w, f in FREQ.items() if w != '1002'}
for who in sorted(others):
    # (a recording's time is what the phone received since its call began: up to 0.5 s late)
    held = simlib.window(r.wav(who + '.wav'), HOLD + 0.5, RESUME - 0.7)
    ok, levels = simlib.who_hears(held, present=[f for w, f in others.items() if w != who],
                                  absent=[FREQ['1002'], FREQ[who]])
    tap.ok(ok, 're-INVITEs: while 1002 holds, %s does not hear it' % who, levels)
simlib.hears_all(tap, r, FREQ, (RESUME + 0.4, ALAW - 0.1), 're-INVITEs, resumed: ')
simlib.hears_all(tap, r, FREQ, (ALAW + 0.4, 5.9), 're-INVITEs, 1001 in A-law: ')
stats = {e['who']: e['rx_pt'] for e in r.events('rtp-stats') if e.get('who') in ('1001', '1002')}
tap.ok(stats == {'1001': 8, '1002': 0},
       're-INVITEs: the engine sends 1001 A-law from its switch on, 1002 mu-law still', stats)
r.cleanup()

shutil.rmtree(cfgdir, ignore_errors=True)
tap.done()
