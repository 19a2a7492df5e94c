#!/usr/bin/env python3
"""test-replay.py - replay the real Yate transcripts against yate-sim and compare shapes (TAP).

The test plays the module's side (the A: lines of ../shared/yate, with ids
and channel names substituted) over a --listen socket, and checks that the
simulator answers with lines of the same shapes real Yate 6.4.1 wrote:
the start-up answers byte for byte, and for every message line the same
kind (request, answer, watcher report), name, outcome, and parameter names,
in the same order of events.

Where the transcripts' callers were Yate's tone generator started from the
remote console (tone/N, cmd_* and cdrtrack parameters, the console's outer
call.execute), the simulator's callers are SIP-like phones (sip/N); those
tone/console-only details are left out of the comparison, as listed in
TONE_ONLY below.
"""
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402

# Copies of ../shared/yate/transcript-{1,2}-*.txt, so that the test runs from a tarball too.
SHARED = os.environ.get('CE_YATE_TRANSCRIPTS') or os.path.join(simlib.DATA, 'yate')

# Parameters that only tone channels placed from the console carry.
TONE_ONLY = {'cmd_address', 'cmd_machine', 'cmd_admin', 'cdrtrack'}

tap = simlib.Tap()


def load(name):
    lines = []
    with open(os.path.join(SHARED, name)) as f:
        for l in f:
            if l[:3] in ('E: ', 'A: '):
                lines.append((l[0], l[3:].rstrip('\n')))
    return lines


def driver(line):
    """The driver of the line's channel id; the transcripts' tone callers are our sip phones."""
    d = line.get('id', '').split('/')[0] or line.get('module', '')
    return 'sip' if d == 'tone' else d


def shape(line):
    """(kind, name, channel driver) of a parsed line, and whether it was handled."""
    if line.kind == '<message':
        return ('report' if not line.id else 'answer', line.name, driver(line)), line.handled
    return (line.kind, line.name, driver(line)), None


def start_sim(scenario, sock):
    holder = {}

    def run():
        holder['r'] = simlib.run(scenario, args=['--listen', 'unix:' + sock, '--ready-max', '20'],
                                 timeout=90)
    t = threading.Thread(target=run)
    t.start()
    return t, holder


def compare(real, got, title, allow_handled=()):
    """Match every real E: message line to a simulator line of the same shape, in order.

    The simulator's order is deterministic: an enqueued message (the dumb
    channel's chan.startup) is dispatched before the simulator reads anything
    more from the module, so it precedes the answers to the chan.masquerade
    the module sends on the call.execute report, as in transcript 1.  Real
    Yate dispatches enqueued messages on its engine threads and the module's
    messages on the extmodule reader thread, so there the two may swap
    (under load they do); a match may therefore reach back over a few lines
    not yet matched, so that a transcript taken from a busy Yate still
    compares.  Nothing else is tolerated: every other line must come in order.
    """
    pos, used, misses, details = 0, set(), [], []
    for text in real:
        want = simlib.Line(text)
        if want.kind not in ('>message', '<message'):
            continue
        if want.name == 'call.execute' and want.get('cmd_address') and \
                (want.kind == '>message' or not want.get('ce_room')) and \
                not want.get('ce_dialout'):
            continue  # the console's outer call.execute of a tone caller
        if want.name == 'chan.notify':
            continue  # Yate's own conference: covered by test-sim.py
        ws, wh = shape(want)
        found = None
        for i in range(max(0, pos - 4), len(got)):
            gs, gh = shape(got[i])
            if i not in used and gs == ws and (gh == wh or ws[1] in allow_handled):
                found = i
                break
        if found is None:
            misses.append('%s %s: no line of this shape after #%d' % (ws, text[:60], pos))
            continue
        used.add(found)
        names = set(want.names()) - TONE_ONLY
        lacking = names - set(got[found].names())
        if want.get('id', '').startswith('tone/') and not got[found].get('id', '').startswith('tone/'):
            lacking -= {'address'} if want.get('address') in ('dial', 'busy', 'milliwatt') else set()
        if lacking:
            details.append('%s lacks %s: %s' % (ws, sorted(lacking), got[found].text[:200]))
        pos = max(pos, found + 1)
    tap.ok(not misses, '%s: every Yate message line has a counterpart, in order' % title,
           '\n'.join(misses))
    tap.ok(not details, '%s: with the same parameter names' % title, '\n'.join(details))


def startup(mod, real):
    """Send the transcript's start-up A: lines; the E: answers must be identical."""
    sent = []
    for d, text in real:
        if d == 'A' and text.split(':')[0] in ('%%>setlocal', '%%>install', '%%>watch'):
            mod.send(text)
            sent.append(text)
        if d == 'E' and text.startswith('%%>message'):
            break
    # restart=true only holds for a module Yate started itself, not for one that connected
    want = [t.replace('%%<setlocal:restart:true:true', '%%<setlocal:restart:false:true')
            for d, t in real if d == 'E' and t.split(':')[0] in
            ('%%<setlocal', '%%<install', '%%<watch')]
    got = []
    for _ in want:
        line = mod.read(5)
        if line is None:
            break
        got.append(line.text)
    tap.ok(got == want, 'start-up answers are the same as real Yate\'s (socket module)', '\n'.join(
        '%s | %s' % (a, b) for a, b in zip(want, got) if a != b) or got)


def inbound(mod, line, fmt='mulaw', port=40000):
    """The module's part of an inbound call: dumb/, then RTP and answer on the watcher report."""
    if line.kind == '>message' and line.name == 'call.execute':
        callto = line.get('callto', '')
        if callto == 'conf/room1':
            mod.answer(line, False, [('callto', 'dumb/'), ('ce_room', 'room1')])
        else:
            mod.answer(line, False)
        return None
    if line.kind == '<message' and not line.id and line.name == 'call.execute' and \
            line.handled and line.get('ce_room') and line.get('peerid', '').startswith('dumb/'):
        dumb = line.get('peerid')
        mod.message('chan.masquerade', [
            ('id', dumb), ('message', 'chan.rtp'), ('media', 'audio'), ('direction', 'bidir'),
            ('remoteip', '127.0.0.1'), ('remoteport', str(port)), ('format', fmt),
            ('rtcp', 'false'), ('complete_minimal', 'true')])
        mod.message('chan.masquerade', [('id', dumb), ('message', 'call.answered')])
        return (line.get('id'), dumb)
    if line.kind == '>message':
        mod.answer(line, False)
    return None


def drain(mod, seconds, on_line=None):
    deadline = time.time() + seconds
    while time.time() < deadline:
        line = mod.read(max(0.0, deadline - time.time()))
        if line is None:
            break
        if on_line:
            on_line(line)
        elif line.kind == '>message':
            mod.answer(line, False)


# ---- transcript 1: routing, RTP, Yate's conference ---------------------------------
real1 = load('transcript-1-routing-rtp-and-yate-conference.txt')
sock = os.path.join(tempfile.mkdtemp(prefix='yate-sim-replay-'), 'ext.sock')
t, holder = start_sim('''
route ^800$ conf/room1
route ^802$ conf/yroom notify=conf-monitor/yroom speakers=true lonely=true maxusers=5
at 0 call 1001 800 play=tone:440
at 2 hangup 1001
at 2.2 call 1007 899
at 2.3 call 1008 899
at 2.5 call 1002 802 play=tone:400
at 3 call 1003 802 play=tone:600
at 4 hangup 1002
at 4.5 hangup 1003
end 5
''', sock)
mod = simlib.Module(sock)
startup(mod, real1)
drain(mod, 8, lambda l: inbound(mod, l))
mod.close()
t.join(60)
r = holder.get('r')
tap.ok(r and r.ok, 'transcript 1 scenario ran cleanly', r and r.why())
got = [l for l in mod.seen]
compare([t for d, t in real1 if d == 'E'], got, 'transcript 1',
        allow_handled=('call.answered',))
# The simulator itself keeps transcript 1's order strictly (see compare()).
first = {}
for i, l in enumerate(got):
    if l.get('id', '').startswith('dumb/'):
        key = 'startup' if l.name == 'chan.startup' else 'answer' if l.id else None
        if key and key not in first:
            first[key] = i
tap.ok('startup' in first and 'answer' in first and first['startup'] < first['answer'],
       'transcript 1: the dumb channel\'s chan.startup precedes the answers to the masquerades',
       first)

# ---- transcript 2: dial-out, DTMF, drop --------------------------------------------
real2 = load('transcript-2-dialout-dtmf-drop.txt')
sock = os.path.join(tempfile.mkdtemp(prefix='yate-sim-replay-'), 'ext.sock')
t, holder = start_sim('''
route ^800$ conf/room1
route ^801$ tone/milliwatt
at 1.5 call 1001 800 play=tone:440
end 5
''', sock)
mod = simlib.Module(sock)
startup(mod, real2)
state = {'dial': None, 'in': None, 'steps': set()}


def on2(line):
    if line.kind == '<message' and line.id == state.get('ce1'):
        state['dial'] = line.get('id')
        state['ce2'] = mod.message('chan.masquerade', [
            ('id', state['dial']), ('message', 'chan.rtp'), ('media', 'audio'),
            ('direction', 'bidir'), ('remoteip', '127.0.0.1'), ('remoteport', '40002'),
            ('format', 'alaw'), ('rtcp', 'false'), ('complete_minimal', 'true')])
        return
    if line.kind == '<message' and line.id == state.get('ce2'):
        mod.message('call.drop', [('id', state['dial']), ('reason', 'schedule-ended')])
        return
    if line.kind == '<message' and line.id and line.name == 'call.answered' and state['in']:
        caller, dumb = state['in']
        mod.message('chan.masquerade', [('id', caller), ('message', 'chan.dtmf'), ('text', '5')])
        state['drop_at'] = time.time() + 0.3
        return
    got_in = inbound(mod, line)
    if got_in:
        state['in'] = got_in


state['ce1'] = mod.message('call.execute', [
    ('callto', 'dumb/'), ('target', '801'), ('caller', '800'), ('callername', 'Conference'),
    ('ce_dialout', 'room1')])
deadline = time.time() + 10
while time.time() < deadline:
    line = mod.read(0.1)
    if line is not None:
        on2(line)
    if state.get('drop_at') and time.time() > state['drop_at']:
        mod.message('call.drop', [('id', state['in'][1]), ('reason', 'kicked')])
        state['drop_at'] = None
        drain(mod, 1.5, on2)
        break
mod.close()
t.join(60)
r = holder.get('r')
tap.ok(r and r.ok, 'transcript 2 scenario ran cleanly', r and r.why())
compare([t for d, t in real2 if d == 'E'], mod.seen, 'transcript 2',
        allow_handled=('call.answered',))
dt = [l for l in mod.seen if l.name == 'chan.dtmf' and l.kind == '<message']
tap.ok(dt and dt[0].get('sequence') == '1' and dt[0].get('duplicate') == 'false' and
       not dt[0].handled, 'DTMF masqueraded on the caller: sequence, duplicate, not delivered '
       'back to the module', dt)
tap.done()
