#!/usr/bin/env python3
"""test-schedule-sim.py - a scheduled conference end to end: conf-engine under the router simulator.

Prints TAP.  A SQLite database gets a conference on 800 (PIN 1234) that
starts a few seconds after the engine and ends a few seconds later, with
four participants to dial out: 9001 answers, 9002 is busy, 9003 is
offline, 9004 does not answer.  Callers with the right PIN, a wrong PIN
and no PIN dial 800.  The run shows the admission and its refusals, the
dial-outs and their failures, the end alert and the end on time, and what
the store kept.  Real time drives the schedule here, so every check is
about what happened, never about when.
"""
import os
import shutil
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ.get('CE_SRCDIR') or
                                os.path.dirname(os.path.dirname(os.path.dirname(
                                    os.path.dirname(os.path.abspath(__file__))))),
                                'tests', 'sim'))
import simlib  # noqa: E402

tap = simlib.engine_tap('scheduled conference end to end')

work = tempfile.mkdtemp(prefix='ce-sched-sim-')
db_path = os.path.join(work, 'conf.db')


def make_db(start, end):
    db = simlib.sqlite_db(db_path)
    us = 1000000
    db.execute("INSERT INTO conferences (access_number, room, title, pin, starts_at, ends_at,"
               " early_join_s, end_alert_s, max_participants)"
               " VALUES ('800', 'board', 'Board meeting', '1234', ?, ?, 60, 4, 10)",
               (int(start * us), int(end * us)))
    cid = db.execute('SELECT id FROM conferences').fetchone()[0]
    for name, number in (('Ann', '9001'), ('Bob', '9002'), ('Carol', '9003'), ('Dan', '9004')):
        db.execute("INSERT INTO participants (conference_id, name, address, role, dial_out)"
                   " VALUES (?, ?, ?, 'participant', 1)", (cid, name, number))
    db.commit()
    db.close()


conf = os.path.join(work, 'conf-engine.conf')
with open(conf, 'w') as f:
    f.write('''[general]
node=sim1
[store]
sqlite_path=%s
spool_dir=%s/spool
[schedule]
tick=100
poll_interval=1
dial_retries=0
[monitor]
event_log=%s/events.jsonl
cdr_delay=0
[conference]
rtp_timeout=0
prompts_dir=%s/conf/prompts
''' % (db_path, work, work, simlib.SRCDIR))

now = time.time()
make_db(now + 5, now + 13)
r = simlib.run('''
route ^800$ schedule/800
callee 9001 answer delay=0.5 play=tone:1000
callee 9002 busy
callee 9003 offline
callee 9004 noanswer delay=2
at 0.5 call 1001 800 play=tone:440 param.pin=1234 record=1001.wav
at 1 call 1002 800 param.pin=4321
at 1 call 1003 800
at 1 call 1004 801
at 17 expect state 1001 hungup
end 18
''', module=simlib.ENGINE + ['--config', conf])
tap.ok(r.ok, 'the scenario ran and its expectations held', r.why())
# the last seconds before the schedule's end hung 1001 up: 9001 (dialled at the start) is in
heard = r.wav('1001.wav') if os.path.exists(r.path('1001.wav')) else []
ok, levels = simlib.who_hears(heard[-4 * 8000:-4000], [1000], [440])
tap.ok(ok, 'the caller hears the dialled-out 9001 (1000 Hz), not itself (440 Hz)',
       (len(heard), levels))
tap.ok(r.events('answered', who='1001'), 'caller with the right PIN answered')
tap.ok(r.messages('call.execute', ce_room='board', notify='conf-monitor/board', maxusers='10'),
       'schedule/800 became a join of room board with the room parameters')
tap.ok(r.events('rejected', who='1002', error='forbidden'), 'wrong PIN: forbidden')
tap.ok(r.events('rejected', who='1003', error='forbidden'), 'no PIN: forbidden (SIP 403, not a 401 challenge)')
tap.ok(r.events('rejected', who='1004'), 'unrouted number rejected')
dial = r.messages('call.execute', callto='dumb/', ce_dialout='board')
tap.ok(sorted(m['params'].get('target') for m in dial) == ['9001', '9002', '9003', '9004'],
       'the four participants were dialled', [m['params'] for m in dial])
tap.ok(all(m['params'].get('caller') == '800' and
           m['params'].get('callername') == 'Board meeting' for m in dial),
       'dial-outs carry caller=<access number> and callername=<title>')
rtp = [m['params'] for m in r.messages('chan.rtp', status='created')]
tap.ok(len(rtp) >= 2, 'RTP attached for the caller and the answered dial-out', rtp)
tap.ok(r.messages('chan.notify', event='endalert', targetid='conf-monitor/board'),
       'end alert sent to the room\'s notify target')
said = [e.get('text', '') for e in r.events('stderr')]
tap.ok(any('announcing end-1min.wav' in t for t in said) and
       any('announcing ended.wav' in t for t in said),
       'the end alert and the end are announced to the room',
       [t for t in said if 'prompt' in t or 'announc' in t])
drops = [m['params'].get('id') for m in r.messages('call.drop', reason='schedule-ended')]
tap.ok(len(drops) >= 2, 'every leg dropped at the end with reason schedule-ended', drops)
tap.ok(r.events('hungup', who='1001', reason='schedule-ended') and
       r.events('hungup', who='9001', reason='schedule-ended'),
       'the caller and the dialled participant were hung up by the end')
tap.ok(not r.problems(), 'no protocol problems', r.problems())

db = sqlite3.connect(db_path)
kinds = [row[0] for row in db.execute('SELECT kind FROM events ORDER BY id')]
details = [row[0] for row in db.execute('SELECT detail FROM events WHERE detail IS NOT NULL')]
tap.ok('end-alert' in kinds and 'end' in kinds, 'end-alert and end stored', kinds)
for err in ('busy', 'offline', 'noanswer'):
    tap.ok('dial-out failed: ' + err in details, 'dial-out failure %s stored' % err, details)
tap.ok('enter' in kinds, 'enter events stored by the monitor', kinds)
cdrs = db.execute('SELECT reason FROM cdrs WHERE room = ?', ('board',)).fetchall()
tap.ok(len(cdrs) >= 1, 'CDRs stored', cdrs)
db.close()
if tap.failed:
    for e in r.events('stderr'):
        print('# ' + e.get('text', ''))
r.cleanup()
shutil.rmtree(work, ignore_errors=True)
tap.done()
