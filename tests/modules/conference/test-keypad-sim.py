#!/usr/bin/env python3
"""test-keypad-sim.py - keypad controls end to end: the real conf-engine under yate-sim.

A moderator presses *4 (mute all others): the participant playing a tone is
no longer heard; *2 (lock): a later caller is refused.  The keys arrive as
Yate sends them (one chan.dtmf per key); what the callers heard is in
their recordings, and the events are in the SQLite rows and the event log.
Prints TAP.
"""
import json
import os
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ.get('CE_SRCDIR') or
                                os.path.dirname(os.path.dirname(os.path.dirname(
                                    os.path.dirname(os.path.abspath(__file__))))),
                                'tests', 'sim'))
import simlib  # noqa: E402

SRC = os.environ.get('CE_SRCDIR') or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))

tap = simlib.engine_tap('keypad end to end')

work = tempfile.mkdtemp(prefix='ce-keypad-sim-')
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
cdr_delay=0
[conference]
rtp_timeout=0
prompts_dir=%s
enter_prompt=
leave_prompt=
lonely_prompt=
''' % (work, db_path, evlog, os.path.join(SRC, 'conf', 'prompts')))

# 1001 is the moderator (801), 1002 a participant playing 1000 Hz.
r = simlib.run('''
route ^801$ conf/k1 notify=conf-monitor/k1 participant_role=moderator
route ^800$ conf/k1 notify=conf-monitor/k1
at 0 call 1001 801 record=1001.wav
at 0.5 call 1002 800 play=tone:1000 record=1002.wav
at 3 expect heard 1001 1000
at 3.5 dtmf 1001 *4
at 9 expect silent 1001 window=1000
at 9.5 dtmf 1001 *2
at 13 call 1003 800
at 14 expect event rejected who=1003 error=forbidden
at 14.5 hangup all
end 15.5
''', module=simlib.ENGINE + ['--config', conf])
tap.ok(r.ok, 'the scenario ran: 1001 heard 1002, then silence after *4; 1003 was refused '
       'after *2', r.why())
heard = r.wav('1001.wav')
# 1001's recording starts when its call is up (about 0.1 s): 4 s to 6 s holds the prompt
prompt = heard[int(4.2 * 8000):int(6 * 8000)]
tap.ok(prompt and simlib.level_dbfs(prompt) > -40 and simlib.tone_ratio(prompt, 1000) < 0.2,
       '1001 hears its confirmation (speech, not the muted tone) after *4',
       prompt and (simlib.level_dbfs(prompt), simlib.tone_ratio(prompt, 1000)))
dtmf = [m['params'].get('text') for m in r.messages('chan.dtmf')]
tap.ok(dtmf[:2] == ['*', '4'], 'the keys came one chan.dtmf each, as Yate sends them', dtmf)
locked = r.messages('chan.notify', event='locked', room='k1')
tap.ok(len(locked) == 1 and locked[0]['params'].get('targetid') == 'conf-monitor/k1',
       'Yate gets event=locked, as for chan.control operation=lock', locked)
mutes = r.messages('chan.notify', event='mute', room='k1')
chan2 = [e.get('chan') for e in r.events('call', who='1002')]
tap.ok(len(mutes) == 1 and chan2 and mutes[0]['params'].get('peerid') == chan2[0],
       'one mute notification: the participant, not the moderator', (mutes, chan2))

rows = []
try:
    db = sqlite3.connect(db_path)
    rows = db.execute("SELECT kind, leg, detail FROM events WHERE room = 'k1' AND kind IN "
                      "('mute', 'lock', 'keypad') ORDER BY id").fetchall()
    db.close()
except sqlite3.Error as e:
    rows = [str(e)]
kinds = [k for k, _, _ in rows]
tap.ok(kinds == ['mute', 'keypad', 'lock', 'keypad'],
       'the rows: the participant muted, the keypad action, the lock, the keypad action', rows)
tap.ok(len(rows) == 4 and rows[1][2] == 'mute_all 1' and rows[3][2] == 'lock on' and
       rows[1][1] == rows[3][1] and rows[0][1] != rows[1][1],
       'the keypad rows say what the moderator did and are its leg\'s', rows)

lines = []
try:
    with open(evlog) as f:
        lines = [json.loads(x) for x in f if x.strip()]
except (OSError, ValueError) as e:
    lines = [{'error': str(e)}]
kp = [(x.get('event'), x.get('detail')) for x in lines
      if x.get('room') == 'k1' and x.get('event') in ('keypad', 'lock')]
tap.ok(kp == [('keypad', 'mute_all 1'), ('lock', None), ('keypad', 'lock on')],
       'the event log has the same lines', kp)
r.cleanup()
tap.done()
