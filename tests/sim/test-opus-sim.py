#!/usr/bin/env python3
"""test-opus-sim.py - Opus callers answered through their raw SDP, under yate-sim with the engine (TAP).

The simulator runs as Yate with ysipchan's forward_sdp=yes (--forward-sdp):
a forwarding caller's call.execute carries its whole SDP as sdp_raw, and
an sdp_raw in call.answered is what the phone gets as the answer.  In one
room (rtp_forward=yes), 1001 and 1002 offer Opus first (opus=yes), 1003
offers G.711 only, and 1004 does not offer forwarding (Yate relays it).
The engine answers 1001 and 1002 Opus in sdp_raw (the phones then send
and hear Opus, libopus on both sides), 1003 mu-law from formats= with no
sdp_raw, and relays 1004; every caller hears the three others and not
itself, and the Opus callers' keys still reach the room as RFC 4733
events.  Then the same in a fullband room (rate=48000): the Opus callers
are answered maxplaybackrate=48000, and everyone still hears everyone.
Skipped when conf-engine is not built.
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402

tap = simlib.engine_tap('Opus callers through the simulator')

FREQ = {'1001': 440, '1002': 1000, '1003': 1600, '1004': 2200}
OPUS = ('1001', '1002')
WINDOW = (1.4, 2.6)

cfgdir = tempfile.mkdtemp(prefix='ce-opus-sim-')
conf = os.path.join(cfgdir, 'conf-engine.conf')
with open(conf, 'w') as f:
    f.write('[conference]\nenter_prompt=\nleave_prompt=\nlonely_prompt=\n')

def scenario(rate):
    """The four callers in one room; @rate: the route's rate= (None: the default, 8000)."""
    room = ' rate=%d' % rate if rate else ''
    label = ' (%d Hz room)' % rate if rate else ''
    playback = 'maxplaybackrate=%d;' % (rate or 8000)
    lines = ['route ^800$ conf/op rtp_forward=yes notify=conf-monitor/op' + room]
    for i, who in enumerate(sorted(FREQ)):
        opts = ' forward=yes' if who != '1004' else ''
        opts += ' opus=yes' if who in OPUS else ''
        lines.append('at %.1f call %s 800 play=tone:%d@0.2 record=%s.wav%s' %
                     (0.1 * i, who, FREQ[who], who, opts))
    lines += ['at 2.8 dtmf 1002 7', 'at 3.4 hangup all', 'end 3.9']
    r = simlib.run('\n'.join(lines) + '\n', args=['--forward-sdp'],
                   module=simlib.ENGINE + ['--config', conf])
    tap.ok(r.ok and not r.problems(),
           'two Opus callers, a G.711 one and a relayed one run cleanly' + label, r.why())
    on = {e['who']: e['format'] for e in r.events('forward', state='on')}
    tap.ok(on == {'1001': 'opus', '1002': 'opus', '1003': 'mulaw'},
           'the engine answers the Opus callers Opus (their raw SDP) and 1003 mu-law' + label, on)
    answers = [m['params'] for m in r.messages('call.answered') if 'rtp_forward' in m['params']]
    tap.ok(sum('m=audio' in a.get('sdp_raw', '') and 'opus/48000/2' in a['sdp_raw']
               and playback in a['sdp_raw'] and 'formats' not in a for a in answers) == 2 and
           sum('sdp_raw' not in a and a.get('formats') == 'mulaw,alaw' for a in answers) == 1,
           'two call.answered carry an Opus SDP (%s) as sdp_raw (no formats=), one formats= '
           'alone%s' % (playback.rstrip(';'), label), answers)
    tap.ok(len(r.events('rtp', who='1004')) == 1 and
           all(not r.events('rtp', who=w) for w in ('1001', '1002', '1003')),
           'Yate has an RTP session for the relayed caller only' + label)
    simlib.hears_all(tap, r, FREQ, WINDOW, '%d Hz room: ' % rate if rate else '')
    tap.ok([e['how'] for e in r.events('dtmf', who='1002')] == ['rfc4733'] and
           r.messages('chan.notify', event='dtmf', text='7'),
           "an Opus caller's key goes as RFC 4733 events in its RTP and reaches the room" + label,
           r.events('dtmf'))
    r.cleanup()


scenario(None)
# a fullband room: Opus at 48 kHz inside, the G.711 and relayed callers converted 6x
scenario(48000)
shutil.rmtree(cfgdir, ignore_errors=True)
tap.done()
