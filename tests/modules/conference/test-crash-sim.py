#!/usr/bin/env python3
"""test-crash-sim.py - kill -9 of the engine with callers in a room, under the router simulator.

Prints TAP.  Three callers are in room r1 when the engine is killed
(SIGKILL); one of them hangs up while no engine runs.  yate-sim, as Yate's
extmodule, restarts the engine (it asked restart=true), keeps the dumb/N
channels and answers chan.locate as Yate's drivers do.  The new engine reads
the open-leg journal: the two callers still in Yate are dropped with reason
engine-restart, the one who left is closed with the same reason, and each of
the three gets exactly one leave event and one CDR whose duration is the time
it really spent in the call.  A new call after the restart joins normally.
"""
import json
import os
import shutil
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ.get('CE_SRCDIR') or
                                os.path.dirname(os.path.dirname(os.path.dirname(
                                    os.path.dirname(os.path.abspath(__file__))))),
                                'tests', 'sim'))
import simlib  # noqa: E402

tap = simlib.Tap()
if not os.path.exists(simlib.YATE_SIM) or not os.path.exists(simlib.ENGINE[0]):
    tap.skip('crash recovery end to end', 'yate-sim or conf-engine not built')
    tap.done()

work = tempfile.mkdtemp(prefix='ce-crash-sim-')
db_path = os.path.join(work, 'conf.db')
evlog = os.path.join(work, 'events.jsonl')
conf = os.path.join(work, 'conf-engine.conf')
with open(conf, 'w') as f:
    f.write('''[general]
state_dir=%s/state
[store]
sqlite_path=%s
[monitor]
event_log=%s
[conference]
rtp_timeout=0
enter_prompt=
leave_prompt=
lonely_prompt=
''' % (work, db_path, evlog))

r = simlib.run('''
route ^800$ conf/r1 notify=conf-monitor/r1 lonely=true
at 0 call 1001 800 play=tone:440
at 0.3 call 1002 800 play=tone:700
at 0.6 call 1003 800
at 2.5 expect state 1003 answered
at 3 crash
at 3 hangup 1003
at 7 expect state 1001 hungup
at 7 expect state 1002 hungup
at 7.5 call 1004 800 play=tone:440
at 9.5 expect state 1004 answered
at 10 hangup 1004
end 11
''', module=simlib.ENGINE + ['--config', conf])
tap.ok(r.ok, 'the scenario ran and its expectations held', r.why())
tap.ok(r.events('engine-kill', signal=9) and r.events('engine-restart'),
       'the engine was killed and restarted as Yate restarts it')
locs = [m['params'].get('id') for m in r.messages('chan.locate')]
tap.ok(len(locs) == 3 and all(i.startswith('dumb/') for i in locs),
       'the new engine asked Yate about each of the three legs', locs)
tap.ok(len(r.messages('chan.locate', handled=True)) == 2 and
       len(r.messages('chan.locate', handled=False)) == 1,
       'Yate still had two of them, not the one whose caller hung up meanwhile',
       r.messages('chan.locate'))
drops = [m['params'].get('id') for m in r.messages('call.drop', reason='engine-restart')]
tap.ok(len(drops) == 2, 'the two legs still in Yate dropped with reason engine-restart', drops)
tap.ok(r.events('hungup', who='1001', reason='engine-restart') and
       r.events('hungup', who='1002', reason='engine-restart'),
       'their callers were hung up with that reason (nobody left answered without a room)',
       r.events('hungup'))
tap.ok(r.events('answered', who='1004') and r.events('hungup', who='1004'),
       'a new call after the restart joined and left normally')
stderr = [e.get('text', '') for e in r.events('stderr')]
tap.ok(any('closed 3 legs in 1 room of the previous engine: 2 still in Yate (dropped), '
           '1 already gone' in t for t in stderr),
       'the new engine logs what it closed', [t for t in stderr if 'previous engine' in t])


def times(ev, who):
    return [e['t'] for e in r.events(ev, who=who)]


# What each caller really had: from its answer to its hangup (sim's clock).
real = {}
for who in ('1001', '1002', '1003', '1004'):
    a, h = times('answered', who), times('hungup', who)
    if a and h:
        real[who] = (h[0] - a[0]) * 1000
chans = {}
for e in r.events('answered'):
    chans.setdefault(e.get('who'), e.get('chan'))

lines = []
if os.path.exists(evlog):
    with open(evlog) as f:
        lines = [json.loads(x) for x in f if x.strip()]
cdrs = [x for x in lines if x.get('type') == 'cdr']
events = [x for x in lines if x.get('type') == 'event']
by_peer = {}
for c in cdrs:
    by_peer.setdefault(c.get('peer'), []).append(c)
for who in ('1001', '1002', '1003', '1004'):
    mine = by_peer.get(chans.get(who), [])
    if who == '1004':
        tap.ok(len(mine) == 1 and mine[0].get('reason') != 'engine-restart',
               '%s: exactly one CDR, an ordinary one' % who, mine)
    else:
        tap.ok(len(mine) == 1 and mine[0].get('reason') == 'engine-restart',
               '%s: exactly one CDR, reason engine-restart' % who, mine)
    if len(mine) == 1 and who in real:
        # 1003 left while no engine ran: its CDR ends at the old engine's last sign of
        # life (its last tick, 250 ms, before the crash)
        slack = 700
        tap.ok(abs(mine[0].get('duration_ms', -1) - real[who]) <= slack,
               '%s: CDR duration %s ms matches the %d ms in the call' %
               (who, mine[0].get('duration_ms'), real[who]))
    else:
        tap.ok(False, '%s: CDR duration matches the time in the call' % who, real)
enters = [x.get('leg') for x in events if x.get('event') == 'enter']
leaves = [(x.get('leg'), x.get('reason')) for x in events if x.get('event') == 'leave']
tap.ok(len(enters) == 4 and len(set(enters)) == 4, 'one enter per participant, none twice',
       enters)
tap.ok(len(leaves) == 4 and len(set(x[0] for x in leaves)) == 4 and
       [x[1] for x in leaves].count('engine-restart') == 3,
       'one leave per participant: three engine-restart, one ordinary', leaves)

db = sqlite3.connect(db_path)
rows = db.execute('SELECT leg, reason, left_at - joined_at FROM cdrs WHERE room = ?',
                  ('r1',)).fetchall()
tap.ok(len(rows) == 4 and [x[1] for x in rows].count('engine-restart') == 3,
       'the store holds the four CDRs with their reasons', rows)
kinds = db.execute("SELECT kind, count(*) FROM events WHERE room = 'r1' GROUP BY kind").fetchall()
tap.ok(dict(kinds).get('enter') == 4 and dict(kinds).get('leave') == 4,
       'the store holds four enters and four leaves', kinds)
db.close()
try:
    with open(os.path.join(work, 'state', 'legs.journal')) as f:
        text = f.read()
except OSError as e:
    text = str(e)
tap.ok('enter\t' in text and text.count('enter\t') == text.count('leave\t'),
       'the journal holds no open leg at the end', text)
if tap.failed:
    for t in stderr:
        print('# ' + t)
r.cleanup()
shutil.rmtree(work, ignore_errors=True)
tap.done()
