#!/usr/bin/env python3
"""test-yate-vs-sim.py - the same conference scenario on real Yate and on yate-sim: the engine sees the same protocol (TAP).

One scenario, run twice with the same conf-engine configuration:

    two callers (incoming sip/N) are routed to conf/cmp;notify=conf-monitor/cmp;lonely=true:
    B (silent) at 0 s, then A, who speaks (speech.wav), at 0.5 s
    B hangs up at 5 s (BYE, reason hangup), then A at 7 s

  1. on a real Yate 6.4.1: the callers are wavefile channels that call
     Yate's own SIP listener (`^9(80.)$=sip/sip:\\1@127.0.0.1:PORT`), so what
     reaches the room is a real incoming SIP channel; the engine runs under
     tee-module.py, which writes every protocol line it exchanges;
  2. on tests/sim/yate-sim, whose callers are SIP-like sip/N phones; its
     transcript (-t) has the same format.

The two transcripts are compared by *shape*, not by value (ids, ports and
times differ): the start-up keyword lines; then every message line about
the conference (the engine's own requests and Yate's answers, Yate's
requests and watcher reports for the callers and their dumb/N legs, and the
engine's answers), keyed by direction, kind (request, answer, report),
message name and sub-kind (chan.masquerade's message=, chan.notify's
event=, the driver of the channel in id=), with each line's set of
parameter names.  Every line of one run must have a line of the same key
in the other, in order (a line may match up to LOOKBACK lines back: real
Yate dispatches enqueued messages on several threads), with the same
parameter names.  The only names left out are those the real SIP driver
adds for its own channels (SIP_ONLY: sip_*, rtp_*, ip_*, ...), which the
simulator's phones, not being SIP endpoints, do not have.  Where the two
differ the simulator is wrong (docs/simulator.md lists what was fixed).
"""
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yatelib  # noqa: E402

simlib = yatelib.simlib
tap = yatelib.Checked()
prefix = yatelib.require(tap)

ROOM_ROUTE = 'conf/cmp;notify=conf-monitor/cmp;lonely=true'
ENGINE_CONF = '[conference]\nenter_prompt=\nleave_prompt=\nlonely_prompt=\n'
# real Yate's SIP channel parameters that a simulated phone has no reason to carry
SIP_ONLY_PREFIX = ('sip_', 'ip_', 'rtp_', 'connection_', 'sdp_', 'osip_', 'isup')
SIP_ONLY = {'callid', 'antiloop', 'newcall', 'domain', 'device', 'media', 'formats',
            'transport', 'cause_sip', 'username', 'realm', 'xsip_nonce_age'}
# messages that are not about the scenario (the console, timers)
IGNORED = {'engine.status', 'engine.command', 'engine.help', 'engine.timer', 'engine.debug'}
LOOKBACK = 4
# parameters whose values are the same in both runs (no ids, ports or times)
VALUES = ('module', 'status', 'answered', 'direction', 'reason', 'event', 'message', 'media',
          'format', 'callto', 'newroom', 'users', 'counted', 'utility', 'lonely', 'room',
          'maxusers', 'complete_minimal', 'autoring')
KEYWORDS = ('%%>install', '%%<install', '%%>watch', '%%<watch', '%%>setlocal', '%%<setlocal',
            '%%>uninstall', '%%<uninstall', '%%>unwatch', '%%<unwatch', '%%>output')
A_SPEAKS_FOR, B_LEAVES_AT, A_LEAVES_AT = 30, 5.0, 7.0


def sip_only(name):
    return name in SIP_ONLY or name.startswith(SIP_ONLY_PREFIX)


def driver_of(chan):
    return (chan or '').split('/')[0]


class Shapes:
    """The conference lines of one transcript, as (key, parameter names) in order per direction."""

    def __init__(self, lines):
        self.keywords = {'E': [], 'A': []}
        self.seq = {'E': [], 'A': []}
        parsed = [(d, simlib.Line(t)) for d, t in lines]
        requests = {}  # message id -> (who sent it, Line)
        chans = set()
        for d, l in parsed:
            if l.kind == '>message':
                requests[l.id] = (d, l)
                if l.name == 'call.execute' and (l.get('callto') or '').startswith('conf/'):
                    chans.add(l.get('id'))
            if l.kind == '<message' and not l.id and l.get('ce_room') and l.handled:
                chans.add(l.get('id'))
                chans.add(l.get('peerid'))
        self.chans = chans
        for d, l in parsed:
            if l.text.split(':')[0] in KEYWORDS:
                # Yate's run id is the time it started: the same shape, another value
                self.keywords[d].append(re.sub(r'^(%%<setlocal:engine\.runid:)\d+', r'\1N', l.text))
                continue
            key = self.key(d, l, requests)
            if key:
                self.seq[d].append((key, l))
        self.dedup_talk()

    def key(self, d, l, requests):
        if l.kind == '>message':
            if l.name in IGNORED:
                return None
            if d == 'E' and l.get('id') not in self.chans:
                return None
            return (d, 'request', l.name, self.sub(l))
        if l.kind != '<message':
            return None
        if not l.id:  # a watcher report
            if l.name in IGNORED or (l.get('id') not in self.chans and not (
                    l.name == 'chan.notify' and (l.get('targetid') or '').startswith(
                        'conf-monitor/'))):
                return None
            return (d, 'report', l.name, self.sub(l))
        req = requests.get(l.id)
        if not req or req[0] == d:
            return None
        rd, rl = req
        if rl.name in IGNORED or (rd == 'E' and rl.get('id') not in self.chans):
            return None
        return (d, 'answer', rl.name, self.sub(rl))

    @staticmethod
    def sub(l):
        if l.name == 'chan.masquerade':
            return 'message=' + (l.get('message') or '')
        if l.name == 'chan.notify':
            return 'event=' + (l.get('event') or '')
        return 'id=' + driver_of(l.get('id')) + '/'

    def dedup_talk(self):
        """Talker events depend on how the speech came through: keep the first talkstart and
        the last talkstop of each leg (and their answers), so that their count never differs."""
        for d in ('E', 'A'):
            first, last = {}, {}
            for i, (k, l) in enumerate(self.seq[d]):
                if k[2] == 'chan.notify' and k[3] == 'event=talkstart':
                    first.setdefault((k[1], l.get('id')), i)
                elif k[2] == 'chan.notify' and k[3] == 'event=talkstop':
                    last[(k[1], l.get('id'))] = i
            drop = {i for i, (k, _) in enumerate(self.seq[d]) if k[2] == 'chan.notify' and
                    k[3] in ('event=talkstart', 'event=talkstop')}
            drop -= set(first.values()) | set(last.values())
            self.seq[d] = [x for i, x in enumerate(self.seq[d]) if i not in drop]

    def keys(self, d):
        return [k for k, _ in self.seq[d]]


def match(real, sim, d):
    """Pair the lines of direction @d in order (with LOOKBACK); (misses, extras, pairs)."""
    got = sim.seq[d]
    pos, used, misses, pairs = 0, set(), [], []
    for key, l in real.seq[d]:
        found = None
        for i in range(max(0, pos - LOOKBACK), len(got)):
            if i not in used and got[i][0] == key:
                found = i
                break
        if found is None:
            misses.append('%s: real Yate has %s, the simulator nothing after its line %d' % (
                key, l.text[:160], pos))
            continue
        used.add(found)
        pairs.append((key, l, got[found][1]))
        pos = max(pos, found + 1)
    extras = ['%s: the simulator has %s, real Yate nothing' % (k, l.text[:160])
              for i, (k, l) in enumerate(got) if i not in used]
    return misses, extras, pairs


def values_differ(pairs):
    """Outcomes (handled) and the values of VALUES that differ between paired lines."""
    out = []
    for key, r, s in pairs:
        if r.handled != s.handled:
            out.append('%s: handled=%s in real Yate, %s in the simulator' % (
                key, r.handled, s.handled))
        for n in VALUES:
            if r.get(n) != s.get(n) and not (s.get(n) is None and sip_only(n)):
                out.append('%s: %s=%r in real Yate, %r in the simulator' % (
                    key, n, r.get(n), s.get(n)))
    return out


def reached_back(real, sim, d):
    """Lines the match took from before an earlier match (real Yate's threads swapped them)."""
    got = [l for _, l in sim.seq[d]]
    order = [got.index(s) for _, _, s in match(real, sim, d)[2]]
    return [i for n, i in enumerate(order) if n and i < max(order[:n])]


def names_differ(pairs):
    out = []
    for key, r, s in pairs:
        rn, sn = set(r.names()), set(s.names())
        lacking = {n for n in rn - sn if not sip_only(n)}
        if lacking or sn - rn:
            out.append('%s: real Yate only %s, simulator only %s\n  real: %s\n  sim:  %s' % (
                key, sorted(lacking), sorted(sn - rn), r.text[:300], s.text[:300]))
    return out


def hangup_order(shapes):
    """For each caller: the positions of its chan.hangup, its leg's chan.disconnected and the
    leg's chan.hangup among Yate's reports to the engine."""
    out = []
    seq = [l for k, l in shapes.seq['E'] if k[1] == 'report']
    for i, l in enumerate(seq):
        if l.name == 'chan.hangup' and driver_of(l.get('id')) == 'sip':
            leg = l.get('lastpeerid')
            disc = [j for j, x in enumerate(seq) if x.name == 'chan.disconnected' and
                    x.get('id') == leg]
            gone = [j for j, x in enumerate(seq) if x.name == 'chan.hangup' and
                    x.get('id') == leg]
            out.append((i, disc[0] if disc else -1, gone[0] if gone else -1))
    return out


def run_real():
    """The scenario on real Yate; returns (transcript lines, what B heard)."""
    with yatelib.Yate(prefix, 'vs-sim', engine='--config {conf}', engine_conf=ENGINE_CONF,
                      routes=[r'^9\(80.\)$=sip/sip:\1@{sip}', '^801$=' + ROOM_ROUTE],
                      transcript=True) as y:
        tap.yate = y
        tap.ok(y.wait_engine(), 'real Yate: conf-engine attached (under tee-module.py)',
               y.log_tail())
        d = y.driver()
        yatelib.speech_slin(y.path('a.slin'), A_SPEAKS_FOR)
        t0 = time.monotonic()
        b, _ = d.call('9801', record=y.path('heard-B.slin'), caller='1002')
        time.sleep(max(0.0, 0.5 - (time.monotonic() - t0)))
        a, _ = d.call('9801', play=y.path('a.slin'), caller='1001')
        tap.ok(bool(a) and bool(b), 'real Yate: A and B call 801 over SIP', (a, b))
        time.sleep(max(0.0, B_LEAVES_AT - (time.monotonic() - t0)))
        d.drop(b, 'hangup')
        time.sleep(max(0.0, A_LEAVES_AT - (time.monotonic() - t0)))
        d.drop(a, 'hangup')
        done = yatelib.wait_for(lambda: any(
            'event=destroyed' in t for _, t in y.transcript_lines()))
        tap.ok(bool(done), 'real Yate: the room is destroyed after both left',
               y.transcript_lines()[-5:])
        lines = y.transcript_lines()
        heard = yatelib.read_slin(y.path('heard-B.slin'))
        if not done:
            y.failed = True
        tap.yate = None
        return lines, heard


def run_sim():
    work = tempfile.mkdtemp(prefix='ce-vs-sim-')
    conf = os.path.join(work, 'conf-engine.conf')
    with open(os.path.join(work, 'dialplan.conf'), 'w') as f:
        f.write('[default]\n')
    with open(conf, 'w') as f:
        f.write('[general]\nstate_dir=%s\n[store]\nbackend=sqlite\nsqlite_path=%s\n'
                '[monitor]\nevent_log=%s\n[dialplan]\nfile=%s\n%s' % (
                    os.path.join(work, 'state'), os.path.join(work, 'conf-engine.db'),
                    os.path.join(work, 'ev.jsonl'), os.path.join(work, 'dialplan.conf'),
                    ENGINE_CONF))
    route = ROOM_ROUTE.split(';')
    r = simlib.run('''
route ^801$ %s %s
at 0 call 1002 801 record=heard-B.wav
at 0.5 call 1001 801 play=%s
at %g hangup 1002 hangup
at %g hangup 1001 hangup
end %g
''' % (route[0], ' '.join(route[1:]), simlib.data('speech.wav'), B_LEAVES_AT, A_LEAVES_AT,
       A_LEAVES_AT + 1.5), module=simlib.ENGINE + ['--config', conf], timeout=90,
        workdir=work)
    tap.ok(r.ok and not r.problems(), 'yate-sim: the same scenario runs cleanly', r.why())
    return r


real_lines, heard_b = run_real()
tap.ok(simlib.level_dbfs(heard_b) > -40, 'real Yate: B hears A speak (through SIP and the room)',
       simlib.level_dbfs(heard_b))
r = run_sim()
real, sim = Shapes(real_lines), Shapes(r.transcript)

tap.ok(len(real.chans) == 4 and len(sim.chans) == 4,
       'both runs: two callers and their two dumb/N legs found', (real.chans, sim.chans))
for d, who in (('A', 'the engine'), ('E', 'Yate')):
    tap.ok(real.keywords[d] == sim.keywords[d],
           'start-up: %s sends the same install/watch/setlocal lines' % who,
           '\n'.join('%s | %s' % x for x in zip(real.keywords[d], sim.keywords[d]) if x[0] != x[1])
           or (real.keywords[d], sim.keywords[d]))
for d, who in (('E', 'from Yate to the engine'), ('A', 'from the engine to Yate')):
    misses, extras, pairs = match(real, sim, d)
    tap.ok(not misses and not extras,
           'messages %s: the same names and kinds, in the same order' % who,
           '\n'.join(misses + extras))
    tap.ok(pairs and not names_differ(pairs),
           'messages %s: each with the same parameter names' % who, '\n'.join(names_differ(pairs)))
    tap.ok(pairs and not values_differ(pairs),
           'messages %s: the same outcomes and the same values of %s' % (who, ', '.join(VALUES)),
           '\n'.join(values_differ(pairs)))
    for i in reached_back(real, sim, d):
        print('# note: real Yate sent %s before the line it follows in the simulator (its '
              'dispatch threads may swap messages enqueued together)' % (sim.seq[d][i][0],))


order = hangup_order(sim)
tap.ok(len(order) == 2 and all(h < d < g for h, d, g in order),
       'yate-sim reports a caller\'s BYE in real Yate\'s order: chan.hangup of the caller, then '
       'chan.disconnected and chan.hangup of its dumb/N leg', order)
if not all(h < d < g for h, d, g in hangup_order(real)):
    print('# note: this real Yate run swapped them: %s' % hangup_order(real))
kinds = {k for k in real.keys('E') + real.keys('A')}
tap.ok(all(k in kinds for k in [
    ('E', 'request', 'call.execute', 'id=sip/'), ('A', 'answer', 'call.execute', 'id=sip/'),
    ('A', 'request', 'chan.masquerade', 'message=chan.rtp'),
    ('E', 'answer', 'chan.masquerade', 'message=chan.rtp'),
    ('A', 'request', 'chan.masquerade', 'message=call.answered'),
    ('A', 'request', 'chan.notify', 'event=joined'), ('A', 'request', 'chan.notify', 'event=left'),
    ('E', 'report', 'chan.hangup', 'id=sip/'), ('E', 'report', 'chan.hangup', 'id=dumb/'),
    ('E', 'report', 'chan.disconnected', 'id=dumb/')]),
    'the comparison covered call.execute, chan.rtp, call.answered, chan.notify, chan.hangup '
    'and chan.disconnected', sorted(kinds))
if tap.failed:
    print('# simulator run kept in %s' % r.workdir)
else:
    r.cleanup()
tap.done()
