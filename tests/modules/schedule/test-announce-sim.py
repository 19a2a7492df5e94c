#!/usr/bin/env python3
"""test-announce-sim.py - a scheduled conference's room options end to end: conf-engine under
the router simulator.

Prints TAP.  A SQLite database holds three running conferences:
  800 board  wait_for_moderator: participants (PIN 1234) hear music, not each
             other, until the moderator (PIN 9999) joins; then all hear all
  801 ends   end_with_moderator: the moderator's hangup ends the room
  802 count  announce_count: the second caller hears "there is 1 participant"
Prompts are told apart by content: the test's prompts folder is the shipped
one with a few prompts replaced by tones of their own frequency (there-is
500 Hz, 1 1300 Hz, participant 1900 Hz, first 2600 Hz) and the music on hold
is a 1 s file of 2200 Hz, looped.  Callers play steady tones of their own
(440, 1000, 1600 Hz) so who hears whom is a matter of frequencies.
"""
import math
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ.get('CE_SRCDIR') or
                                os.path.dirname(os.path.dirname(os.path.dirname(
                                    os.path.dirname(os.path.abspath(__file__))))),
                                'tests', 'sim'))
import simlib  # noqa: E402

tap = simlib.engine_tap('scheduled room options end to end')

work = tempfile.mkdtemp(prefix='ce-announce-sim-')
db_path = os.path.join(work, 'conf.db')
prompts = os.path.join(work, 'prompts')
shutil.copytree(os.path.join(simlib.SRCDIR, 'conf', 'prompts', 'en'), os.path.join(prompts, 'en'))
MOH = 2200
TONES = {'there-is': 500, '1': 1300, 'participant': 1900, 'first': 2600}


def tone(freq, seconds, amplitude=0.4):
    return [int(32767 * amplitude * math.sin(2 * math.pi * freq * i / 8000))
            for i in range(int(seconds * 8000))]


for name, freq in TONES.items():
    simlib.write_wav(os.path.join(prompts, 'en', name + '.wav'), tone(freq, 0.4))
moh = simlib.write_wav(os.path.join(work, 'moh.wav'), tone(MOH, 1.0))


def make_db(start, end):
    db = simlib.schema_db(db_path)
    us = 1000000
    for number, room, opts in (('800', 'board', (1, 0, 0)), ('801', 'ends', (0, 1, 0)),
                               ('802', 'count', (0, 0, 1))):
        db.execute("INSERT INTO conferences (access_number, room, title, pin, moderator_pin,"
                   " starts_at, ends_at, early_join_s, end_alert_s, wait_for_moderator,"
                   " end_with_moderator, announce_count)"
                   " VALUES (?, ?, 'Meeting', '1234', '9999', ?, ?, 60, 0, ?, ?, ?)",
                   (number, room, int(start * us), int(end * us)) + opts)
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
[conference]
rtp_timeout=0
prompts_dir=%s
moh=%s
enter_prompt=
leave_prompt=
''' % (db_path, work, prompts, moh))

now = time.time()
make_db(now - 60, now + 120)
r = simlib.run('''
route ^80([0-9])$ schedule/80$1
at 0.5 call 1001 800 play=tone:440 param.pin=1234 record=1001.wav
at 1 call 1002 800 play=tone:1000 param.pin=1234 record=1002.wav
at 6 call 1003 800 play=tone:1600 param.pin=9999 record=1003.wav
at 0.5 call 2001 801 param.pin=9999
at 1 call 2002 801 param.pin=1234
at 1 call 2003 801 param.pin=1234
at 4 hangup 2001
at 0.5 call 3001 802 param.pin=1234 record=3001.wav
at 3 call 3002 802 param.pin=1234 record=3002.wav
at 10 hangup all
end 11
''', module=simlib.ENGINE + ['--config', conf])
tap.ok(r.ok, 'the scenario ran and its expectations held', r.why())


def answered_at(who):
    """When phone @who was answered (scenario seconds), from the event log."""
    ev = r.events('answered', who=who)
    return float(ev[0].get('t', 0)) if ev else None


def rec(who):
    return r.wav(who + '.wav') if os.path.exists(r.path(who + '.wav')) else []


def span(who, start, end):
    """What @who heard between scenario times @start and @end (its recording starts when
    it is answered)."""
    t0 = answered_at(who) or 0.0
    return simlib.window(rec(who), start - t0, end - t0)


# 1. wait_for_moderator: music, and not each other, until the moderator comes
ok, levels = simlib.who_hears(span('1001', 3.5, 5.5), [MOH], [1000])
tap.ok(ok, '1001, waiting, hears the music on hold (looped), not 1002', levels)
ok, levels = simlib.who_hears(span('1002', 3.5, 5.5), [MOH], [440])
tap.ok(ok, '1002, waiting, hears the music on hold, not 1001', levels)
ok, levels = simlib.who_hears(span('1001', 7.5, 9.5), [1000, 1600], [MOH])
tap.ok(ok, 'the moderator joined: 1001 hears 1002 and the moderator, no music', levels)
ok, levels = simlib.who_hears(span('1002', 7.5, 9.5), [440, 1600], [MOH])
tap.ok(ok, '1002 hears 1001 and the moderator, no music', levels)
ok, levels = simlib.who_hears(span('1003', 7.5, 9.5), [440, 1000], [MOH])
tap.ok(ok, 'the moderator hears both participants', levels)
joins = r.messages('call.execute', ce_room='board', wait_moderator='true')
tap.ok(len(joins) == 3, 'the joins of board carry wait_moderator=true', [m['params'] for m in joins])

# 2. end_with_moderator: the moderator's hangup ends the room for the others
for who in ('2002', '2003'):
    tap.ok(r.events('hungup', who=who, reason='moderator-left'),
           '%s hung up with reason moderator-left' % who, r.events('hungup', who=who))
left = [m['params'] for m in r.messages('chan.notify', event='left', room='ends')]
tap.ok(len([p for p in left if p.get('reason') == 'moderator-left']) == 2,
       'the leave notifications of the others say reason=moderator-left', left)

# 3. announce_count: "first" for the first, "there is 1 participant" for the second


def tone_times(samples, freq, win=400):
    """Start times (s) of 50 ms windows where @freq dominates."""
    return [i / 8000.0 for i in range(0, max(len(samples) - win, 0), win)
            if simlib.tone_ratio(samples[i:i + win], freq) > 0.6]


first = rec('3001')[:2 * 8000]
tap.ok(tone_times(first, TONES['first']), '3001, alone, hears "you are the first participant"',
       {f: len(tone_times(first, f)) for f in TONES.values()})
second = rec('3002')[:3 * 8000]
seen = [tone_times(second, TONES[n]) for n in ('there-is', '1', 'participant')]
tap.ok(all(seen) and seen[0][0] < seen[1][0] < seen[2][0] and not tone_times(second, TONES['first']),
       '3002 hears "there is", "1", "participant", in that order',
       [s[:1] for s in seen])
tap.ok(not r.problems(), 'no protocol problems', r.problems())
if tap.failed:
    for e in r.events('stderr'):
        print('# ' + e.get('text', ''))
r.cleanup()
shutil.rmtree(work, ignore_errors=True)
tap.done()
