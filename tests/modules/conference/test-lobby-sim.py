#!/usr/bin/env python3
"""test-lobby-sim.py - the lobby end to end: conf-engine under the router simulator (TAP).

A SQLite schedule has conference 800 (room board, PIN 1234) running now,
with participant Pia, whose phone number 1009 the lobby recognises.
Under yate-sim, with real RTP and the shipped English prompts:

- 1002 joins board with its PIN on the call and plays 1000 Hz;
- 1001 dials the lobby (888), plays 440 Hz and records what it hears: the
  greeting, "enter the conference number" (800#), "enter the PIN" (a
  wrong one, 9999#: "wrong PIN", "try again", "enter the PIN"), the right
  one (1234#); the room announces who comes (announce_join), so she is
  asked for her name and says it (her 440 Hz, for lobby_name's 4 s);
  then the room: 1002's tone, while 1002 hears her name, then "has joined";
- 1009 dials the lobby and is recognised: into board without a key;
- 1003 dials 888 and keys in 555# twice (no such conference) and then
  nothing: "too many tries", goodbye, the call dropped by the engine;
- 1004 dials 888 and hangs up while asked for the number.

The prompts are told apart by their content (simlib.find_prompt: the
spectral shape of each shipped prompt file), not by when they played.
1002 must not hear 1001 while 1001 is in the lobby, and must hear it
once it has moved in: the same RTP leg, no new chan.rtp for it.
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

tap = simlib.engine_tap('the lobby end to end')

work = tempfile.mkdtemp(prefix='ce-lobby-sim-')
db_path = os.path.join(work, 'conf.db')
US = 1000000


def make_db():
    db = simlib.schema_db(db_path)
    now = time.time()
    db.execute("INSERT INTO conferences (access_number, room, title, pin, starts_at, ends_at,"
               " early_join_s, max_participants, announce_join)"
               " VALUES ('800', 'board', 'Board meeting', '1234', ?, ?, 60, 10, 1)",
               (int((now - 60) * US), int((now + 3600) * US)))
    cid = db.execute('SELECT id FROM conferences').fetchone()[0]
    cols = [r[1] for r in db.execute('PRAGMA table_info(participants)')]
    if 'number' in cols:
        db.execute("INSERT INTO participants (conference_id, name, role, number)"
                   " VALUES (?, 'Pia', 'participant', '1009')", (cid,))
    db.commit()
    db.close()
    return 'number' in cols


recognise = make_db()
conf = os.path.join(work, 'conf-engine.conf')
with open(conf, 'w') as f:
    f.write('''[general]
node=sim1
[store]
sqlite_path=%s
spool_dir=%s/spool
[schedule]
tick=100
[monitor]
event_log=%s/events.jsonl
cdr_delay=0
[log]
domain.conference=info
[conference]
rtp_timeout=0
record_dir=%s/rec
prompts_dir=%s/conf/prompts
lobby_tries=2
lobby_entry_timeout=3000
''' % (db_path, work, work, work, simlib.SRCDIR))

r = simlib.run('''
route ^888$ lobby
route ^800$ schedule/800
at 0.2 call 1002 800 play=tone:1000 param.pin=1234 record=1002.wav
at 0.5 call 1001 888 play=tone:440 record=1001.wav
on answered 1001 +7 dtmf 1001 800#
on answered 1001 +13 dtmf 1001 9999#
on answered 1001 +23 dtmf 1001 1234#
at 1 call 1009 888 record=1009.wav
at 1 call 1003 888 record=1003.wav
on answered 1003 +6 dtmf 1003 555#
on answered 1003 +14 dtmf 1003 555#
at 1 call 1004 888
on answered 1004 +2 hangup 1004
at 40 expect heard 1001 1000 window=2000
at 40 expect heard 1002 440 window=2000
end 41
''', module=simlib.ENGINE + ['--config', conf], timeout=120)
tap.ok(r.ok, 'the scenario ran and its expectations held', r.why())

heard = r.wav('1001.wav') if os.path.exists(r.path('1001.wav')) else []
pos = 0.0
for name in ('welcome', 'enter-number', 'enter-pin', 'wrong-pin', 'try-again', 'enter-pin'):
    c, at = simlib.find_prompt(heard, simlib.prompt_samples(name), start=pos)
    tap.ok(c > 0.8, '1001 heard "%s" after %.1f s' % (name, pos), (round(c, 2), at))
    pos = at if at is not None else pos
c, at = simlib.find_prompt(heard, simlib.prompt_samples('say-name'), start=pos)
tap.ok(c > 0.8, '1001 was asked for her name (the room announces who comes)', (round(c, 2), at))
c, at = simlib.find_prompt(heard, simlib.prompt_samples('wrong-number'))
tap.ok(c < 0.7, '1001 never heard "wrong-number"', (round(c, 2), at))

# 1001 in the lobby: 1002 does not hear it; in the room: it does, and 1001 hears 1002
mine = r.wav('1002.wav') if os.path.exists(r.path('1002.wav')) else []
ok, levels = simlib.who_hears(simlib.window(mine, 3, 8), [], [440])
tap.ok(ok, 'while 1001 is in the lobby, the room does not hear it', levels)
ok, levels = simlib.who_hears(heard[-2 * 8000:], [1000], [440])
tap.ok(ok, 'once in, 1001 hears 1002 (1000 Hz) and not itself (440 Hz)', levels)
# the name: recorded in the lobby (the lobby room's recorder), played to the others with
# "has joined" (the engine's log says so: what 1002 hears of it cannot be told from 1001's
# own voice, which the room mixes from the same moment), removed when the engine stopped
said = [e.get('text', '') for e in r.events('stderr')]
recorded = [t.split("'")[3] for t in said
            if "recording to '" in t and '/rec/name-' in t and "room 'lobby/" in t]
played = [t for t in said if "room 'board': playing '" in t and ' to all but ' in t and
          any(f in t for f in recorded)]
tap.ok(len(recorded) == 2 and len(played) == 2,
       'the names of 1001 and Pia were recorded in the lobby and played to the others',
       [t for t in said if 'name-' in t])
left = os.listdir(os.path.join(work, 'rec')) if os.path.isdir(os.path.join(work, 'rec')) else []
tap.ok(not [f for f in left if f.startswith('name-')],
       'no recorded name is left in record_dir once the engine stopped', left)

lobby_rtp = [m['params'].get('id') for m in r.messages('chan.rtp')]
joins = [m['params'] for m in r.messages('chan.notify', event='joined')]
board = [j for j in joins if j.get('room') == 'board']
lobby = [j for j in joins if j.get('room', '').startswith('lobby/')]
tap.ok(len(lobby) == 4, 'four callers joined a lobby room of their own',
       [j.get('room') for j in lobby])
tap.ok(len({j.get('room') for j in lobby}) == 4, 'each its own lobby room', lobby)
ids_1001 = {j.get('id') for j in lobby if j.get('caller') == '1001'}
tap.ok(any(j.get('id') in ids_1001 and j.get('participant_role') == 'participant'
           for j in board),
       '1001 joined board on the same dumb/N as in the lobby, as a participant',
       (ids_1001, board))
tap.ok(len(lobby_rtp) == 5 and len(set(lobby_rtp)) == 5,
       'one chan.rtp per leg: the moves asked for none', repr(lobby_rtp))
if recognise:
    tap.ok(any(j.get('caller') == '1009' and j.get('participant_name') == 'Pia' for j in board),
           '1009 was recognised by its number and went in as Pia', board)
else:
    tap.skip('1009 recognised by number', 'the store has no participants.number yet')

drops = r.messages('call.drop')
why = {m['params'].get('reason') for m in drops}
tap.ok('toomanytries' in why, '1003 was dropped after too many tries', sorted(why))
h3 = r.wav('1003.wav') if os.path.exists(r.path('1003.wav')) else []
for name in ('wrong-number', 'too-many-tries', 'goodbye'):
    c, at = simlib.find_prompt(h3, simlib.prompt_samples(name))
    tap.ok(c > 0.8, '1003 heard "%s"' % name, (round(c, 2), at))
tap.ok(r.events('hungup', who='1003'), '1003 was hung up by the engine')
tap.ok(not r.problems(), 'no protocol problems', r.problems())

# what the monitor kept: a CDR of every lobby stay, also of 1004 who hung up there
db = sqlite3.connect(db_path)
rows = db.execute("SELECT room, caller, reason FROM cdrs").fetchall()
lobby_cdrs = [x for x in rows if x[0].startswith('lobby/')]
tap.ok(len(lobby_cdrs) == 4, 'a CDR of each lobby stay', rows)
tap.ok(any(x[1] == '1004' for x in lobby_cdrs), '1004, who hung up in the lobby, has one', rows)
tap.ok(any(x[0] == 'board' and x[1] == '1001' for x in rows), '1001 has a CDR of board', rows)
db.close()

shutil.rmtree(work, ignore_errors=True)
r.cleanup()
tap.done()
