#!/usr/bin/env python3
"""test-locked-db.py - the SQLite file is locked (BEGIN EXCLUSIVE by another process) when the engine starts,
with a conference scheduled in it, under yate-sim.

Prints TAP.  Shown: the engine's first line asks Yate for its restart; it
runs degraded (store_db=down); a caller of the scheduled conference is
refused with service-unavailable; a free room meanwhile works and its
events and CDRs are spooled; once the lock is released the store opens,
replays the spool, and the scheduled conference admits its callers; in
the end the database holds exactly the events and CDRs the monitor made
(rows counted against engine.status), none doubled.
"""
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib  # noqa: E402

tap = faultlib.Tap()
if faultlib.built():
    tap.skip_all(faultlib.built())

work = tempfile.mkdtemp(prefix='ce-locked-')
db = os.path.join(work, 'conf.db')
now = time.time()
faultlib.schedule_db(db, "INSERT INTO conferences (access_number, room, title, pin, starts_at, "
                         "ends_at, early_join_s) VALUES ('800', 'board', 'Board', '1234', ?, ?, 60)",
                     (int((now - 60) * 1e6), int((now + 600) * 1e6)))
conf = os.path.join(work, 'conf-engine.conf')
faultlib.write(conf, '[general]\nnode=locked1\n[conference]\nenter_prompt=\nleave_prompt=\n'
                     'lonely_prompt=\nrtp_timeout=0\n'
                     '[store]\nsqlite_path=%s\nspool_dir=%s/spool\nworkers=1\nquery_timeout_ms=200\n'
                     'reconnect_min_ms=50\nreconnect_max_ms=400\n'
                     '[schedule]\ntick=100\npoll_interval=1\n'
                     '[monitor]\nevent_log=%s/monitor.jsonl\ncdr_delay=0\n' % (db, work, work))
locker = faultlib.Locker(db)
sim = faultlib.Sim('''
route ^800$ schedule/800
route ^700$ conf/free notify=conf-monitor/free
at 1 message engine.status module=conf-engine
at 1 call 1001 800 param.pin=1234
at 1.5 call 2001 700 play=tone:440
at 1.8 call 2002 700
at 3 hangup 2001
at 3 hangup 2002
at 3.5 message engine.status module=conf-engine
at 4 log release
at 8 message engine.status module=conf-engine
at 8.5 call 1002 800 param.pin=1234
at 10 hangup all
at 11 message engine.status module=conf-engine
end 11.5
''', conf=conf, workdir=work)
try:
    r = sim.act(('release', locker.release))
finally:
    locker.close()

tap.ok(locker.locked and r.ok, 'the run goes to its end with the database locked at start', r.why())
tap.ok(r.lines('A')[:1] == ['%%>setlocal:restart:true'],
       'the engine\'s first line asks Yate for its restart', r.lines('A')[:3])
st = [m['retval'] for m in r.messages('engine.status') if m.get('retval')]
tap.ok(len(st) == 4 and 'store_db=down' in st[0] and 'store_db=down' in st[1],
       'it runs degraded: engine.status answers, store_db=down', st[:2])
tap.ok(r.events('rejected', who='1001', error='service-unavailable'),
       'a caller of the scheduled conference is refused with service-unavailable',
       r.events(who='1001'))
tap.ok(faultlib.status(r, 'store_spooled', 1) and faultlib.status(r, 'store_spooled', 1) >= 8,
       'a free room works meanwhile; its events and CDRs are spooled (%s)'
       % faultlib.status(r, 'store_spooled', 1))
tap.ok(len(st) == 4 and 'store_db=up' in st[2] and
       faultlib.status(r, 'store_replayed', 2) == faultlib.status(r, 'store_spooled', 1),
       'lock released: the store opens and replays every spooled record (%s)'
       % faultlib.status(r, 'store_replayed', 2), st[2:3])
tap.ok(r.events('answered', who='1002') and not r.events('rejected', who='1002'),
       'then the scheduled conference admits its caller', r.events(who='1002'))
events = faultlib.db_rows(db, 'SELECT kind, room, leg, at FROM events')
cdrs = faultlib.db_rows(db, 'SELECT room, leg, joined_at FROM cdrs')
made_ev, made_cdr = faultlib.status(r, 'monitor_events'), faultlib.status(r, 'monitor_cdrs')
tap.ok(events is not None and cdrs is not None and len(events) == made_ev and
       len(cdrs) == made_cdr == 3,
       'nothing lost: the database holds the %s events and %s CDRs the monitor made'
       % (made_ev, made_cdr), (events, cdrs))
tap.ok(events is not None and not faultlib.doubled(events) and not faultlib.doubled(cdrs),
       'nothing doubled', (faultlib.doubled(events), faultlib.doubled(cdrs)))
if tap.failed:
    for e in r.events('stderr')[-30:]:
        print('# ' + e.get('text', ''))
shutil.rmtree(work, ignore_errors=True)
tap.done()
