#!/usr/bin/env python3
"""test-pin-guard-sim.py - PIN guessing locks the guesser out: conf-engine under the router simulator.

Prints TAP.  A SQLite database holds conference 800 (PIN 1234), running.
[schedule] pin_fail_caller=3: number 1002 dials 800 three times with a
wrong PIN (schedule/800 pin=..., as the shipped dialplan makes of 800 +
digits) and is refused each time with badpin; the third locks the number
out.  A fourth call from 1002, now with the right PIN, is refused as
locked, without the PIN being tried; 1003 with the same PIN gets in.
The engine logs the lockout once, naming the caller and the conference.
"""
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

tap = simlib.engine_tap('PIN guessing locks the caller out')

work = tempfile.mkdtemp(prefix='ce-guard-sim-')
db_path = os.path.join(work, 'conf.db')
db = simlib.schema_db(db_path)
now = time.time()
db.execute("INSERT INTO conferences (access_number, room, title, pin, starts_at, ends_at)"
           " VALUES ('800', 'board', 'Board meeting', '1234', ?, ?)",
           (int((now - 60) * 1000000), int((now + 3600) * 1000000)))
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
pin_fail_caller=3
pin_lockout=600
[conference]
rtp_timeout=0
prompts_dir=%s/conf/prompts
''' % (db_path, work, simlib.SRCDIR))

r = simlib.run('''
route ^800$ schedule/800
at 0.5 call try1 800 number=1002 param.pin=1111
at 1 call try2 800 number=1002 param.pin=2222
at 1.5 call try3 800 number=1002 param.pin=3333
at 2.5 call again 800 number=1002 param.pin=1234
at 3 call 1003 800 param.pin=1234 play=tone:440
at 4.5 expect event rejected who=try3 error=forbidden
at 4.5 expect event rejected who=again error=forbidden
at 4.5 expect state 1003 answered
end 5
''', module=simlib.ENGINE + ['--config', conf])
tap.ok(r.ok, 'the scenario ran and its expectations held', r.why())


def reason(chan):
    """The reason= the engine put on the call.execute of @chan (what Yate hangs up with)."""
    ex = r.messages('call.execute', id=chan, error='forbidden')
    return ex[0]['params'].get('reason', '') if ex else None


for who in ('try1', 'try2', 'try3'):
    ev = r.events('rejected', who=who, error='forbidden')
    why = reason(ev[0]['chan']) if ev else None
    tap.ok(why is not None and why.startswith('badpin:'),
           '%s (1002, wrong PIN) is refused with badpin' % who, (ev, why))
ev = r.events('rejected', who='again', error='forbidden')
why = reason(ev[0]['chan']) if ev else None
tap.ok(why is not None and why.startswith('locked: too many wrong PINs, try again in'),
       'then 1002 with the right PIN is refused as locked', (ev, why))
tap.ok(r.events('answered', who='1003'), 'another number with the right PIN gets in')
tap.ok(r.messages('call.execute', ce_room='board', caller='1003'),
       "1003's call became a join of room board")
tap.ok(not r.messages('call.execute', ce_room='board', caller='1002'),
       '1002 never reached the room')
said = [e.get('text', '') for e in r.events('stderr')]
warn = [t for t in said if 'PIN guard:' in t]
tap.ok(len(warn) == 1 and 'WARN' in warn[0] and 'caller 1002' in warn[0] and
       'conference board' in warn[0] and 'caller limit' in warn[0],
       'one WARN line names the caller, the conference and the limit', warn)
tap.ok(not r.problems(), 'no protocol problems', r.problems())
if tap.failed:
    for t in said:
        print('# ' + t)
r.cleanup()
shutil.rmtree(work, ignore_errors=True)
tap.done()
