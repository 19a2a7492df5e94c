#!/usr/bin/env python3
"""test-dialout-sim.py - who is in a scheduled conference, and dial-outs to local channels.

Prints TAP.  conf-engine runs under the router simulator with a SQLite
database: a conference on 800 dials out Tom (9005, routed to
wave/play of 1600 Hz beeps) and Mia (9006, routed to tone/milliwatt, transcript
2's target) - Yate's local channels, which connect at once and never send
call.answered -, Dana (9001, a phone that answers with call.answered) and
Bob (9002, busy) and Nora (9003, rings until the conference ends); Ann calls in with her personal PIN (moderator) and Bruno
with the conference PIN.  Checks:

- Tom and Mia are connected without call.answered: they stay in the room,
  Tom talks and Ann hears him all along, and Mia, until the conference
  ends, and never herself nor Dana, a listener (tones of their own,
  simlib.who_hears); Mia is
  dropped from Yate's console (call.drop dumb/N) before that, which Yate
  reports as a bare chan.hangup of dumb/N - the very message that got a
  connected dial-out stored as "dial-out failed: noanswer".  Their leaves
  carry a normal reason, no dial-out failure is stored for them, and their
  CDRs have a real duration;
- every event and CDR of the conference carries the conference id, and
  each participant's carry the participant id (when known), role, name,
  number (caller), the number called or dialled, and the direction;
- Bob's busy dial-out leaves exactly one event (the failure) and no CDR:
  he never was in the room; Nora's phone, still ringing when the
  conference ends, is hung up and stored the same way (failed:
  schedule-ended).

Real time drives the schedule, so every check is about what happened,
never about when.
"""
import json
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

tap = simlib.engine_tap('dial-out and identity end to end')

work = tempfile.mkdtemp(prefix='ce-dialout-sim-')
db_path = os.path.join(work, 'conf.db')
US = 1000000


def make_db(start, end):
    db = simlib.sqlite_db(db_path)
    db.execute("INSERT INTO conferences (access_number, room, title, pin, starts_at, ends_at,"
               " early_join_s, end_alert_s, max_participants)"
               " VALUES ('800', 'board', 'Board meeting', '1234', ?, ?, 60, 0, 10)",
               (int(start * US), int(end * US)))
    cid = db.execute('SELECT id FROM conferences').fetchone()[0]
    ids = {}
    for name, address, role, pin, dial in (('Ann Caller', None, 'moderator', '5555', 0),
                                           ('Tom Talker', '9005', 'participant', None, 1),
                                           ('Mia Milliwatt', '9006', 'participant', None, 1),
                                           ('Dana Dialled', '9001', 'listener', None, 1),
                                           ('Bob Busy', '9002', 'participant', None, 1),
                                           ('Nora Noanswer', '9003', 'participant', None, 1)):
        cur = db.execute("INSERT INTO participants (conference_id, name, address, role, pin,"
                         " dial_out) VALUES (?, ?, ?, ?, ?, ?)",
                         (cid, name, address, role, pin, dial))
        ids[name] = cur.lastrowid
    db.commit()
    db.close()
    return cid, ids


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
cdr_delay=500
[conference]
rtp_timeout=0
prompts_dir=%s/no-prompts
''' % (db_path, work, work, work))
os.mkdir(os.path.join(work, 'no-prompts'))  # what Ann hears is the participants, not prompts

now = time.time()
cid, ids = make_db(now + 4, now + 13)
# Tom talks in 1600 Hz beeps (the talker detector takes them for speech); Ann plays
# 2200 Hz, Dana 440 Hz, Mia's milliwatt is 1000 Hz: each its own frequency
TOM = simlib.write_wav(os.path.join(work, 'tom.wav'), simlib.beeps(1600, 6))
# Ann hears Tom from his connection (about 4 s in) to the end (about 13 s), Mia's steady
# tone until she is kicked, and nobody else: Bruno is silent, Dana is a listener.
r = simlib.run('''
route ^800$ schedule/800
route ^9005$ wave/play/%s autorepeat=true
route ^9006$ tone/milliwatt
callee 9001 answer delay=0.5 play=tone:440@0.1
callee 9002 busy
callee 9003 noanswer delay=60
at 0.5 call 1001 800 param.pin=5555 play=tone:2200 record=1001.wav
at 1 call 1002 800 param.pin=1234 name=Bruno
at 8.5 message call.drop id=dumb/4 reason=kicked
at 11.5 expect state 9005 connected
at 11.5 expect state 9006 hungup
at 16 expect state 9005 hungup
at 11.5 expect state 9003 ringing
at 16 expect state 9003 hungup
at 16 expect state 1001 hungup
end 17
''' % TOM, module=simlib.ENGINE + ['--config', conf])
tap.ok(r.ok, 'the scenario ran and its expectations held (Tom heard until the end)', r.why())
# Ann's recording starts when she is answered: 5-8 s of the scenario come before the kick
heard = r.wav('1001.wav') if os.path.exists(r.path('1001.wav')) else []
t0 = (r.events('answered', who='1001') or [{'t': 0}])[0]['t']
ok, levels = simlib.who_hears(simlib.window(heard, 5 - t0, 8 - t0), [1600, 1000], [2200, 440])
tap.ok(ok, 'Ann hears Tom (1600 Hz beeps) and Mia (1000 Hz), not herself (2200 Hz) nor Dana, '
       'a listener (440 Hz)', (len(heard), levels))
ok, levels = simlib.who_hears(heard[-int(2.5 * 8000):-int(0.3 * 8000)], [1600], [2200, 440, 1000])
tap.ok(ok, 'at the end Ann still hears Tom, and no more Mia, kicked', (len(heard), levels))
dial = {m['params'].get('target'): m['params']
        for m in r.messages('call.execute', callto='dumb/', ce_dialout='board')}
for number, local, status in (('9005', 'wave/', 'schedule-ended'), ('9006', 'tone/', 'kicked')):
    p = dial.get(number, {})
    tap.ok(p.get('peerid', '').startswith(local) and 'targetid' not in p,
           'the dial-out to %s reached %s (peerid, no targetid)' % (number, local), p)
    tap.ok(not r.messages('call.answered', id=p.get('peerid', '-')) and
           not r.messages('call.answered', peerid=p.get('id', '-')),
           'nobody sent call.answered for %s' % number, r.messages('call.answered'))
    hang = r.messages('chan.hangup', id=p.get('id', '-'))
    tap.ok(hang and hang[0]['params'].get('answered') == 'true' and
           hang[0]['params'].get('status') == status and 'reason' not in hang[0]['params'],
           '%s: dumb/N hangs up answered=true, status=%s, no reason (as transcript 2)'
           % (number, status), hang)
tap.ok(dial.get('9006', {}).get('id') == 'dumb/4', 'the scenario kicked Mia\'s dumb/4',
       dial.get('9006'))
tap.ok(not r.problems(), 'no protocol problems', r.problems())

db = sqlite3.connect(db_path)
db.row_factory = sqlite3.Row
events = [dict(row) for row in db.execute('SELECT * FROM events ORDER BY id')]
cdrs = [dict(row) for row in db.execute('SELECT * FROM cdrs ORDER BY id')]
db.close()


def of(rows, name):
    return [row for row in rows if row.get('caller_name') == name]


details = [e['detail'] for e in events if e['detail']]
tap.ok(details.count('dial-out failed: busy') == 1 and
       details.count('dial-out failed: schedule-ended') == 1 and
       len([d for d in details if 'dial-out failed' in d]) == 2,
       'no dial-out failure stored but Bob\'s busy one and Nora\'s still ringing at the end',
       details)

# Tom and Mia: in the room until the end or the kick, a normal leave, a CDR with a real duration
for name, reason in (('Tom Talker', 'schedule-ended'), ('Mia Milliwatt', 'left')):
    kinds = [e['kind'] for e in of(events, name)]
    tap.ok(kinds[:1] == ['enter'] and kinds.count('enter') == 1 and
           kinds.count('leave') == 1 and kinds[-1] == 'leave',
           '%s entered once and left once' % name, kinds)
    leave = [e for e in of(events, name) if e['kind'] == 'leave']
    tap.ok(leave and leave[0]['detail'] == reason, '%s left: %s' % (name, reason), leave)
    cdr = of(cdrs, name)
    tap.ok(len(cdr) == 1 and cdr[0]['reason'] == reason and cdr[0]['duration_ms'] >= 3000,
           '%s\'s CDR: reason %s, seconds long' % (name, reason), cdr)
talk = [e for e in of(events, 'Tom Talker') if e['kind'] == 'talk-start']
tap.ok(talk, 'Tom talks in the room (talk-start events)', of(events, 'Tom Talker'))


def identity_ok(rows, want):
    bad = [row for row in rows if any(row.get(k) != v for k, v in want.items())]
    return rows and not bad, bad or rows


want = {
    'Ann Caller': {'conference_id': cid, 'participant_id': ids['Ann Caller'],
                   'role': 'moderator', 'caller': '1001', 'called': '800', 'direction': 'in'},
    'Bruno': {'conference_id': cid, 'participant_id': None, 'role': 'participant',
              'caller': '1002', 'called': '800', 'direction': 'in'},
    'Tom Talker': {'conference_id': cid, 'participant_id': ids['Tom Talker'],
                   'role': 'participant', 'caller': '9005', 'called': '9005',
                   'direction': 'out'},
    'Mia Milliwatt': {'conference_id': cid, 'participant_id': ids['Mia Milliwatt'],
                      'role': 'participant', 'caller': '9006', 'called': '9006',
                      'direction': 'out'},
    'Dana Dialled': {'conference_id': cid, 'participant_id': ids['Dana Dialled'],
                     'role': 'listener', 'caller': '9001', 'called': '9001',
                     'direction': 'out'},
}
for name, w in want.items():
    ok, why = identity_ok(of(events, name), w)
    tap.ok(ok, '%s: every event carries conference, participant, role, name, number, '
           'direction' % name, why)
    ok, why = identity_ok(of(cdrs, name), w)
    tap.ok(ok and len(of(cdrs, name)) == 1, '%s: one CDR with the same identity' % name, why)
tap.ok(all(c['duration_ms'] > 0 for c in cdrs), 'every CDR has a duration',
       [(c['caller_name'], c['duration_ms']) for c in cdrs])
tap.ok(events and all(e['conference_id'] == cid for e in events),
       'every event of the conference carries its id',
       [(e['kind'], e['conference_id']) for e in events if e['conference_id'] != cid])
tap.ok(cdrs and all(c['conference_id'] == cid for c in cdrs),
       'every CDR of the conference carries its id', cdrs)
unnamed = [e for e in events if e['leg'] and not e['caller_name']]
tap.ok(not unnamed, 'every event about a participant names them', unnamed)

# Bob: busy, never in the room: one event, no CDR (found by name or by his dumb/N)
bob_leg = dial.get('9002', {}).get('id', '-')
bob = [e for e in events if e['caller_name'] == 'Bob Busy' or e['leg'] == bob_leg]
tap.ok(len(bob) == 1 and bob[0]['kind'] == 'leave' and bob[0]['detail'] == 'dial-out failed: busy',
       'Bob\'s busy dial-out left exactly one event', bob)
ok, why = identity_ok(bob, {'conference_id': cid, 'participant_id': ids['Bob Busy'],
                            'role': 'participant', 'caller': '9002', 'called': '9002',
                            'direction': 'out'})
tap.ok(ok, 'the failure says who was dialled', why)
tap.ok(not [c for c in cdrs if c['caller_name'] == 'Bob Busy' or c['leg'] == bob_leg] and
       len(cdrs) == 5,
       'no CDR for Bob; one for each of the five who were in', cdrs)
# Nora: her phone still rang when the conference ended: hung up, one event, no CDR
nora = of(events, 'Nora Noanswer')
tap.ok(len(nora) == 1 and nora[0]['kind'] == 'leave' and
       nora[0]['detail'] == 'dial-out failed: schedule-ended' and
       nora[0]['participant_id'] == ids['Nora Noanswer'] and nora[0]['called'] == '9003' and
       not of(cdrs, 'Nora Noanswer'),
       'Nora\'s dial-out, ringing when the conference ended, is stored as failed: '
       'schedule-ended (one event, no CDR)', nora)
joined = r.messages('chan.notify', event='joined')
tap.ok(len(joined) == 5, 'five participants joined the room (Bob never did)',
       [m['params'] for m in joined])

# the event log has the same identity
lines = []
with open(os.path.join(work, 'events.jsonl')) as f:
    lines = [json.loads(l) for l in f if l.strip()]
tom_cdr_line = [l for l in lines if l.get('type') == 'cdr' and
                l.get('caller_name') == 'Tom Talker']
tap.ok(tom_cdr_line and tom_cdr_line[0].get('conference_id') == cid and
       tom_cdr_line[0].get('participant_id') == ids['Tom Talker'] and
       tom_cdr_line[0].get('role') == 'participant' and
       tom_cdr_line[0].get('called') == '9005' and
       tom_cdr_line[0].get('direction') == 'out',
       'the event log\'s CDR line says who Tom is', tom_cdr_line)

if tap.failed:
    for e in r.events('stderr'):
        print('# ' + e.get('text', ''))
r.cleanup()
shutil.rmtree(work, ignore_errors=True)
tap.done()
