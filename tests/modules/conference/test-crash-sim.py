#!/usr/bin/env python3
"""test-crash-sim.py - kill -9 of the engine with callers in a room, under the router simulator.

Prints TAP.  Three callers are in room r1 when the engine is killed
(SIGKILL); one of them hangs up while no engine runs.  yate-sim, as Yate's
extmodule, restarts the engine (it asked restart=true), keeps the dumb/N
channels and their RTP, and answers chan.locate as Yate's drivers do.  The
new engine reads the open-leg journal: the two callers still in Yate are
resumed in their room, on the same port (they hear each other again, and a
new caller), the one who left is closed with reason engine-restart.  Each
participant has exactly one enter, one leave and one CDR whose duration is
the time it really spent in the call, the crash included.
"""
import json
import os
import shutil
import socket
import sqlite3
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.environ.get('CE_SRCDIR') or
                                os.path.dirname(os.path.dirname(os.path.dirname(
                                    os.path.dirname(os.path.abspath(__file__))))),
                                'tests', 'sim'))
import simlib  # noqa: E402

tap = simlib.engine_tap('crash recovery end to end')

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
at 0 call 1001 800 play=tone:440 record=1001.wav
at 0.3 call 1002 800 play=tone:700 record=1002.wav
at 0.6 call 1003 800
at 2.5 expect state 1003 answered
at 2.9 expect heard 1001 700
at 2.9 expect heard 1002 440
at 3 crash
at 3 hangup 1003
at 6 expect state 1001 answered
at 6 expect state 1002 answered
at 6 expect heard 1001 700
at 6 expect heard 1002 440
at 6.5 call 1004 800 play=tone:1000
at 8.5 expect state 1004 answered
at 8.5 expect heard 1001 1000 min=0.2
at 9 hangup 1001
at 9.5 hangup 1002
at 10 hangup 1004
end 11
''', module=simlib.ENGINE + ['--config', conf])
tap.ok(r.ok, 'the scenario ran and its expectations held (after the restart 1001 and 1002 '
       'hear each other again, and the new caller)', r.why())
tap.ok(r.events('engine-kill', signal=9) and r.events('engine-restart'),
       'the engine was killed and restarted as Yate restarts it')
locs = [m['params'].get('id') for m in r.messages('chan.locate')]
tap.ok(len(locs) == 3 and all(i.startswith('dumb/') for i in locs),
       'the new engine asked Yate about each of the three legs', locs)
tap.ok(len(r.messages('chan.locate', handled=True)) == 2 and
       len(r.messages('chan.locate', handled=False)) == 1,
       'Yate still had two of them, not the one whose caller hung up meanwhile',
       r.messages('chan.locate'))
tap.ok(not r.messages('call.drop', reason='engine-restart'),
       'the two legs still in Yate are resumed, not dropped',
       r.messages('call.drop'))
# what each heard from 4.5 s to 5.5 s (after the restart, before 1004 came): counted back
# from its hangup, since nothing was recorded while no engine sent audio
for who, mine, other, hangup in (('1001', 440, 700, 9), ('1002', 700, 440, 9.5)):
    try:
        heard = simlib.read_wav(r.path('%s.wav' % who))[1]
        heard = heard[-int((hangup - 4.5) * 8000):-int((hangup - 5.5) * 8000)]
    except OSError:
        heard = []
    tap.ok(len(heard) == 8000 and simlib.tone_ratio(heard, other) > 0.5 and
           simlib.tone_ratio(heard, mine) < 0.05,
           'after the restart %s hears %d Hz, not its own %d Hz (its recording)' %
           (who, other, mine),
           heard and (simlib.tone_ratio(heard, other), simlib.tone_ratio(heard, mine)))
tap.ok(r.events('answered', who='1004') and r.events('hungup', who='1004'),
       'a new call after the restart joined the resumed room and left normally')
stderr = [e.get('text', '') for e in r.events('stderr')]
tap.ok(any('took over 3 legs in 1 room of the previous engine: 2 resumed in their rooms, '
           '0 dropped and 1 already gone' in t for t in stderr),
       'the new engine logs what it took over', [t for t in stderr if 'previous engine' in t])


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
    want = 'engine-restart' if who == '1003' else None
    tap.ok(len(mine) == 1 and (mine[0].get('reason') == want if want else
                               mine[0].get('reason') != 'engine-restart'),
           '%s: exactly one CDR, %s' % (who, 'reason engine-restart' if want else
                                        'an ordinary one, as it hung up itself'), mine)
    if len(mine) == 1 and who in real:
        # 1003 left while no engine ran: its CDR ends at the old engine's last sign of
        # life (its last tick, 250 ms, before the crash); the others span the crash
        tap.ok(abs(mine[0].get('duration_ms', -1) - real[who]) <= 700,
               '%s: CDR duration %s ms matches the %d ms in the call' %
               (who, mine[0].get('duration_ms'), real[who]))
    else:
        tap.ok(False, '%s: CDR duration matches the time in the call' % who, real)
enters = [x.get('leg') for x in events if x.get('event') == 'enter']
leaves = [(x.get('leg'), x.get('reason')) for x in events if x.get('event') == 'leave']
tap.ok(len(enters) == 4 and len(set(enters)) == 4, 'one enter per participant, none twice',
       enters)
tap.ok(len(leaves) == 4 and len(set(x[0] for x in leaves)) == 4 and
       [x[1] for x in leaves].count('engine-restart') == 1,
       'one leave per participant: one engine-restart, three ordinary', leaves)

db = sqlite3.connect(db_path)
rows = db.execute('SELECT leg, reason, left_at - joined_at FROM cdrs WHERE room = ?',
                  ('r1',)).fetchall()
tap.ok(len(rows) == 4 and [x[1] for x in rows].count('engine-restart') == 1,
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

# 2. The restarted engine cannot have the old RTP port (an operator set [conference]
# rtp_port meanwhile): the legs Yate still has are dropped, not left answered without a room.
work2 = tempfile.mkdtemp(prefix='ce-crash-sim-')
conf2 = os.path.join(work2, 'conf-engine.conf')
text = open(conf).read().replace(work, work2)
with open(conf2, 'w') as f:
    f.write(text)
port = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
port.bind(('127.0.0.1', 0))
free = port.getsockname()[1]
port.close()


def change_port():
    time.sleep(2)  # the first engine has read it (the scenario's crash is at 3 s)
    with open(conf2, 'w') as f:
        f.write(text.replace('[conference]\n', '[conference]\nrtp_port=%d\n' % free))


changer = threading.Thread(target=change_port)
changer.start()
r = simlib.run('''
route ^800$ conf/r2 notify=conf-monitor/r2 lonely=true
at 0 call 1001 800 play=tone:440
at 0.3 call 1002 800 play=tone:700
at 2.5 expect state 1002 answered
at 3 crash
at 6 expect state 1001 hungup
at 6 expect state 1002 hungup
end 7
''', module=simlib.ENGINE + ['--config', conf2])
changer.join()
tap.ok(r.ok, 'port changed: the scenario ran and its expectations held', r.why())
drops = [m['params'].get('id') for m in r.messages('call.drop', reason='engine-restart')]
tap.ok(len(drops) == 2, 'port changed: the two legs still in Yate dropped (engine-restart)',
       drops)
tap.ok(r.events('hungup', who='1001', reason='engine-restart') and
       r.events('hungup', who='1002', reason='engine-restart'),
       'port changed: their callers were hung up with that reason', r.events('hungup'))
stderr = [e.get('text', '') for e in r.events('stderr')]
tap.ok(any('took over 2 legs in 1 room of the previous engine: 0 resumed in their rooms, '
           '2 dropped' in t for t in stderr),
       'port changed: the new engine logs what it dropped',
       [t for t in stderr if 'previous engine' in t])
with open(os.path.join(work2, 'events.jsonl')) as f:
    lines = [json.loads(x) for x in f if x.strip()]
cdrs = [x for x in lines if x.get('type') == 'cdr']
tap.ok(len(cdrs) == 2 and all(c.get('reason') == 'engine-restart' for c in cdrs) and
       len(set(c.get('leg') for c in cdrs)) == 2,
       'port changed: one CDR each, reason engine-restart', cdrs)
if tap.failed:
    for t in stderr:
        print('# ' + t)
r.cleanup()
shutil.rmtree(work, ignore_errors=True)
shutil.rmtree(work2, ignore_errors=True)
tap.done()
