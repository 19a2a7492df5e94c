#!/usr/bin/env python3
"""test-forward.py - the simulator's media bypass (RTP forwarding) against the echo module (TAP).

A caller with forward=yes is a SIP phone offering its own RTP, as Yate's
SIP channel offers it (../shared/yate/transcript-4-rtp-forward.txt,
ysipchan.cpp, libs/ysdp/session.cpp): the echo module in --bypass mode
plays transcript 4's module (accepts, answers with its own address, makes
no chan.rtp, echoes the phone's RTP back to its source and logs the
RFC 4733 keys it decodes).  Checked: what call.preroute/route/execute and
call.answered carry, the three places where Yate turns forwarding off
(route, call.execute answer, call.answered), no yrtp session for a
forwarded phone, its keys in the stream (or as SIP INFO), a phone behind a
NAT and its rebinding, --forward, load mode, and the scenario errors.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402

tap = simlib.Tap()
BYPASS = simlib.ECHO + ['--bypass']


def check(r, name):
    """Every expect step passed and the run ended well."""
    bad = [(w, d) for ok, w, d in r.expectations() if not ok]
    return tap.ok(r.ok and not bad, name, r.why() + '\n' + '\n'.join('%s: %s' % b for b in bad))


def end(r):
    return (r.events('end') or [{}])[0]


def params(r, name, who_id):
    """Parameters of the dispatched message @name of channel @who_id (first one)."""
    m = r.messages(name, id=who_id)
    return m[0]['params'] if m else {}


def module_keys(r):
    """The keys the echo module decoded from RFC 4733 packets, in order."""
    return [e['text'].split()[2] for e in r.events('stderr')
            if 'rfc4733' in e.get('text', '')]


# 1. Forwarding taken: 1001 offers it and the module accepts; 1002 is a plain caller.
r = simlib.run('''
route ^800$ conf/room1 rtp_forward=yes
at 0 call 1001 800 play=tone:440 forward=yes
at 0 call 1002 800 play=tone:1000
at 2 expect heard 1001 440
at 2 expect heard 1002 1000
at 2.5 hangup all
end 3
''', module=BYPASS)
check(r, 'forwarded and relayed callers both hear their own echo')
offer = (r.events('forward', who='1001', state='offered') or [{}])[0]
pre = params(r, 'call.preroute', 'sip/1')
want = {'rtp_addr': '127.0.0.1', 'media': 'yes', 'formats': 'mulaw,alaw',
        'transport': 'RTP/AVP', 'rtp_rfc2833': '101', 'rtp_forward': 'possible',
        'rtp_port': str(offer.get('rtp_port')), 'ip_host': '127.0.0.1'}
tap.ok(all(pre.get(k) == v for k, v in want.items()),
       'the offer: call.preroute carries ysipchan\'s SDP parameters, rtp_forward=possible and '
       'the phone\'s own RTP port', pre)
tap.ok(params(r, 'call.route', 'sip/1').get('rtp_forward') == 'yes',
       'the route\'s rtp_forward=yes is in call.route')
sent = [simlib.Line(l) for l in r.lines('E') if l.startswith('%%>message:')]
ex = [l for l in sent if l.name == 'call.execute' and l.get('id') == 'sip/1']
tap.ok(ex and ex[0].get('rtp_forward') == 'yes' and ex[0].get('rtp_port') == want['rtp_port'],
       'call.execute reaches the module with rtp_forward=yes and the phone\'s address',
       ex and ex[0].text)
ans = r.messages('call.answered', handled=True, peerid='sip/1')
tap.ok(ans and ans[0]['params'].get('rtp_forward') == 'accepted',
       'call.answered with the module\'s address comes out rtp_forward=accepted (transcript 4)',
       ans)
on = r.events('forward', who='1001', state='on')
tap.ok(on and on[0]['format'] == 'mulaw' and on[0]['dtmf_pt'] == 101 and
       on[0]['remote'] == '127.0.0.1:' + ans[0]['params'].get('rtp_port', '?'),
       'the phone sends to the answer\'s rtp_addr:rtp_port, PCMU, keys as PT 101', on)
tap.ok(not r.messages('chan.rtp', id='dumb/1') and not r.events('rtp', who='1001') and
       len(r.events('rtp', who='1002')) == 1,
       'no yrtp session for the forwarded caller, one for the relayed one')
tap.ok(end(r).get('yrtp_sessions') == 1 and end(r).get('yrtp_max') == 1,
       'the end event counts Yate\'s RTP sessions: one', end(r))
st = (r.events('rtp-stats', who='1001', kind='phone') or [{}])[0]
tap.ok(st.get('rx', 0) > 50 and st.get('rx_pt') == 0 and st.get('rx_bad') == 0,
       'the forwarded phone\'s own endpoint gets the echo as PCMU', st)
tap.ok(not any(k in params(r, 'call.preroute', 'sip/2') for k in ('rtp_forward', 'rtp_port')),
       'a caller without forward=yes offers nothing')
r.cleanup()

# 2. Yate turns forwarding off: the route did not say yes; the module did not accept;
#    call.answered gave no address.  The first two fall back to Yate's RTP (chan.rtp).
r = simlib.run('''
route ^800$ conf/room1
at 0 call 1001 800 play=tone:440 forward=yes
at 1.5 expect heard 1001 440
at 2 hangup all
end 2.5
''', module=BYPASS)
check(r, 'route without rtp_forward=yes: the caller is relayed and hears its echo')
ex = [simlib.Line(l) for l in r.lines('E') if l.startswith('%%>message:')]
ex = [l for l in ex if l.name == 'call.execute']
tap.ok(r.events('forward', who='1001', state='refused', by='route') and ex and
       ex[0].get('rtp_forward') == 'possible' and len(r.events('rtp', who='1001')) == 1,
       'forwarding off at the route (callRouted): call.execute still says rtp_forward=possible, '
       'chan.rtp relays', ex and ex[0].text)
r.cleanup()

r = simlib.run('''
route ^800$ conf/room1 rtp_forward=yes
at 0 call 1001 800 play=tone:440 forward=yes
at 1.5 expect heard 1001 440
at 2 hangup all
end 2.5
''', module=simlib.ECHO)
check(r, 'a module that does not accept: the caller is relayed and hears its echo')
tap.ok(r.events('forward', who='1001', state='refused', by='execute') and
       len(r.events('rtp', who='1001')) == 1 and end(r).get('yrtp_sessions') == 1,
       'forwarding off after call.execute (no rtp_forward=accepted): chan.rtp relays')
r.cleanup()

r = simlib.run('''
route ^800$ conf/room1 rtp_forward=yes bypass_answer=bare
at 0 call 1001 800 play=tone:440 forward=yes
at 1 hangup all
end 1.5
''', module=BYPASS)
ans = r.messages('call.answered', handled=True, peerid='sip/1')
tap.ok(r.ok and r.events('forward', who='1001', state='refused', by='answer') and ans and
       'rtp_forward' not in ans[0]['params'],
       'a call.answered without an address turns forwarding off (createPasstroughSDP)', ans)
r.cleanup()

# 3. Keys of a forwarded phone go in its RTP (RFC 4733), none through Yate; without a
#    telephone-event in the answer they go as SIP INFO (chan.dtmf detected=sip-info).
r = simlib.run('''
route ^800$ conf/room1 rtp_forward=yes
at 0 call 1001 800 play=tone:440 forward=yes
at 1 dtmf 1001 12#
at 1.6 dtmf 1001 1
at 2.5 hangup all
end 3
''', module=BYPASS)
st = (r.events('rtp-stats', who='1001', kind='phone') or [{}])[0]
tap.ok(r.ok and module_keys(r) == ['1', '2', '#', '1'] and not r.messages('chan.dtmf') and
       all(e['how'] == 'rfc4733' for e in r.events('dtmf')),
       'keys as RFC 4733 events: the module decodes each once (the end packet goes three '
       'times), a key repeated later is seen again, no chan.dtmf', module_keys(r))
tap.ok(st.get('tx_events') == 4 * 7, 'each key is 7 packets: 4 with growing duration, 3 ends',
       st)
r.cleanup()

r = simlib.run('''
route ^800$ conf/room1 rtp_forward=yes bypass_dtmf=no
at 0 call 1001 800 play=tone:440 forward=yes
at 1 dtmf 1001 7
at 1.5 hangup all
end 2
''', module=BYPASS)
d = r.messages('chan.dtmf', text='7')
tap.ok(r.ok and not module_keys(r) and d and d[0]['params'].get('detected') == 'sip-info',
       'no telephone-event in the answer: the key goes as SIP INFO through Yate', d)
r.cleanup()

# 4. A phone behind a NAT: it announces one port and sends from another; what reaches the
#    announced port is lost; the module follows its packets, also when the NAT rebinds.
r = simlib.run('''
route ^800$ conf/room1 rtp_forward=yes
at 0 call 1001 800 play=tone:440 forward=yes nat=yes
at 1.5 expect heard 1001 440
at 1.6 rebind 1001
at 3 expect heard 1001 440
at 3.2 hangup all
end 3.5
''', module=BYPASS)
check(r, 'a phone behind a NAT hears its echo before and after its NAT moves it')
offer = (r.events('forward', who='1001', state='offered') or [{}])[0]
rb = r.events('rebind', who='1001')
st = (r.events('rtp-stats', who='1001', kind='phone') or [{}])[0]
tap.ok(offer.get('source_port') not in (None, offer.get('rtp_port')) and rb and
       rb[0]['from'] == offer.get('source_port') and rb[0]['to'] != rb[0]['from'],
       'it sends from another port than it announced, then from a third one', (offer, rb))
tap.ok(st.get('rx_unreachable', 0) >= 1 and st.get('rx', 0) > 100,
       'the module\'s packet to the announced port is lost; the echo to its source arrives', st)
r.cleanup()

# 5. --forward: every caller offers forwarding unless forward=no; load mode forwards too.
r = simlib.run('''
route ^800$ conf/room1 rtp_forward=yes
at 0 call 1001 800 play=tone:440
at 0 call 1002 800 play=tone:1000 forward=no
at 1.5 expect heard 1001 440
at 1.5 expect heard 1002 1000
at 2 hangup all
end 2.5
''', module=BYPASS, args=['--forward', '--rtp-shared'])
check(r, '--forward with --rtp-shared: both callers hear their echo')
pre = params(r, 'call.preroute', 'sip/1')
tap.ok(r.events('forward', who='1001', state='on') and not r.events('forward', who='1002') and
       pre.get('rtp_addr', '').startswith('127.1.') and len(r.events('rtp')) == 1,
       '--forward makes 1001 offer (from its own 127.1.x.y), forward=no keeps 1002 relayed',
       pre)
r.cleanup()

# 6. Mistakes are reported clearly.
r = simlib.run('''
route ^800$ conf/room1 rtp_forward=yes
at 0 call 1001 800 forward=yes
at 0.5 rebind 1001
at 1 hangup all
end 1.5
''', module=BYPASS)
tap.ok(r.code == simlib.EXPECT_FAILED and 'no forwarded phone behind a NAT' in r.stderr,
       'rebind of a phone that is not behind a NAT fails the run', r.why())
r.cleanup()
r = simlib.run('''
route ^800$ conf/room1 rtp_forward=yes
at 0 call 1001 800 forward=yes nat=yes
at 1 hangup all
end 1.5
''', module=BYPASS, args=['--rtp-shared'])
tap.ok(r.code == simlib.EXPECT_FAILED and 'socket of its own' in r.stderr and
       not r.events('forward', who='1001'),
       'nat=yes in load mode fails the run and the phone offers nothing', r.why())
r.cleanup()
# A re-INVITE that no module takes (the echo module has no call.update handler): the phone is
# refused with ysipchan's default 488 and goes on; one from a relayed phone fails the run.
r = simlib.run('''
route ^800$ conf/room1 rtp_forward=yes
at 0 call 1001 800 forward=yes
at 0 call 1002 800 forward=no
at 0.8 reinvite 1001 hold
at 1.2 reinvite 1002 alaw
at 1.6 hangup all
end 2
''', module=BYPASS)
tap.ok(r.code == simlib.EXPECT_FAILED and 'no forwarded phone' in r.stderr and
       [(e['state'], e.get('code')) for e in r.events('reinvite', who='1001')] ==
       [('offered', None), ('refused', '488')] and not r.events('reinvite', who='1002'),
       'a re-INVITE nobody takes is refused 488; one from a relayed phone fails the run',
       (r.events('reinvite'), r.why()))
r.cleanup()
for bad in ('at 0 call 1001 800 forward=maybe', 'at 0 call 1001 800 nat=2', 'at 0 rebind',
            'at 0 rebind 1001 1002', 'at 0 reinvite 1001', 'at 0 reinvite 1001 sendonly'):
    r = simlib.run(bad + '\n')
    tap.ok(r.code == simlib.USAGE and 'line 1' in r.stderr, 'scenario error: %s' % bad,
           r.stderr)
    r.cleanup()

tap.done()
