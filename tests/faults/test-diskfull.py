#!/usr/bin/env python3
"""test-diskfull.py - a full disk under the event log, the spool and the recordings (a real small filesystem).

Prints TAP.  Each part mounts its own tmpfs (or, where tmpfs cannot be
mounted, an ext2 loop file) made by the test, fills it with a filler
file while conf-engine runs a conference under yate-sim, frees the space
at a marker of the scenario, and unmounts it whatever happens.  Without
either (not root) the test skips with the reason; under CI=true it fails.

1. The event log: lines that do not fit are dropped and counted exactly
   (the seq numbers missing from the file are monitor_log_dropped, and
   lines written + dropped = events + CDRs the monitor made), no line is
   broken or spliced, one warning says so and one says how many were
   dropped when writing resumes after the space came back.
2. The spool, with the database away (SQLite held by BEGIN EXCLUSIVE):
   the records that cannot be spooled are held, not lost: once space and
   the database are back, the database holds exactly the events and CDRs
   the monitor made, none doubled.
3. A recording: the WAV stops at the last whole sample that fit, its
   header says so and it reads to its end, the audio in it is the room's
   (the talker's tone), a 'recording' notification gives the reason,
   record_failures counts it, the monitor stores record-stop with it.
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib  # noqa: E402
import simlib  # noqa: E402

tap = faultlib.Tap()
if faultlib.built():
    tap.skip_all(faultlib.built())
try:
    with faultlib.small_fs(64):
        pass
except OSError as e:
    tap.skip_all(str(e))

NOPROMPTS = '[conference]\nenter_prompt=\nleave_prompt=\nlonely_prompt=\nrecord_prompt=\n'


def dump(r):
    for e in r.events('stderr')[-30:]:
        print('# ' + e.get('text', ''))


def event_log():
    work = tempfile.mkdtemp(prefix='ce-full-log-')
    with faultlib.small_fs(256) as mnt:
        log = os.path.join(mnt, 'events.jsonl')
        conf = os.path.join(work, 'conf-engine.conf')
        faultlib.write(conf, '[general]\nnode=full1\n' + NOPROMPTS +
                       '[monitor]\nevent_log=%s\ncdr_delay=0\n' % log)
        # Callers come and go: some twenty lines while the disk is full, more after.
        sim = faultlib.Sim('''
route ^80(.)$ conf/r$1 notify=conf-monitor/r$1
at 0.5 log fill
at 1 calls 4 1001 801 rate=10
at 1.5 calls 4 2001 802 rate=10
at 2.5 hangup 1001
at 2.6 hangup 2002
at 3 call 1005 801
at 3.5 hangup all
at 4 log free
at 10 calls 3 3001 803 rate=10
at 11 hangup all
at 12 message engine.status module=conf-engine
end 12.5
''', conf=conf, workdir=work)
        filler = []
        r = sim.act(('fill', lambda: filler.append(faultlib.fill(mnt, 6000))),  # a page's room
                    ('free', lambda: [os.unlink(f) for f in filler]))
        objs, broken = faultlib.jsonl_check(log)
    tap.ok(r.ok, 'event log on a full disk: the conference runs', r.why())
    dropped = faultlib.status(r, 'monitor_log_dropped')
    made = (faultlib.status(r, 'monitor_events') or 0) + (faultlib.status(r, 'monitor_cdrs') or 0)
    seqs = [o.get('seq') for o in objs]
    tap.ok(not broken, 'event log on a full disk: no broken or spliced line', broken)
    tap.ok(dropped and dropped > 0 and len(objs) + dropped == made,
           'event log: lines written (%d) + monitor_log_dropped (%s) = lines made (%d)'
           % (len(objs), dropped, made))
    last = faultlib.status(r, 'monitor_seq')  # ids run from the start time on
    tap.ok(seqs == sorted(set(seqs)) and made - len(seqs) == dropped and last and
           all(last - made < s <= last for s in seqs),
           'event log: the seq numbers missing from the file are exactly the dropped lines', seqs)
    after = [o for o in objs if o.get('room') == 'r3' and o.get('event') == 'enter']
    tap.ok(len(after) == 3, 'event log: writing resumes once space returns (the 3 later enters)',
           [o.get('event') for o in objs])
    cannot = faultlib.stderr_lines(r, 'event log: cannot write')
    again = faultlib.stderr_lines(r, 'writable again')
    tap.ok(len(cannot) == 1 and 'No space left on device' in cannot[0] and len(again) == 1 and
           '(%s lines were dropped' % dropped in again[0],
           'event log: one warning at the first loss, one with the exact count when it resumes',
           cannot + again)
    if tap.failed:
        dump(r)
    r.cleanup()


def spool():
    work = tempfile.mkdtemp(prefix='ce-full-spool-')
    db = os.path.join(work, 'conf.db')
    with faultlib.small_fs(256) as mnt:
        conf = os.path.join(work, 'conf-engine.conf')
        faultlib.write(conf, '[general]\nnode=full2\n' + NOPROMPTS +
                       '[store]\nsqlite_path=%s\nspool_dir=%s/spool\nworkers=1\n'
                       'query_timeout_ms=200\nreconnect_min_ms=50\nreconnect_max_ms=400\n'
                       '[monitor]\nevent_log=%s/monitor.jsonl\ncdr_delay=0\n' % (db, mnt, work))
        faultlib.write(db, '')
        locker = faultlib.Locker(db)
        sim = faultlib.Sim('''
route ^80(.)$ conf/s$1 notify=conf-monitor/s$1
at 0.5 log fill
at 1 calls 10 1001 801 rate=20
at 2 hangup all
at 2.5 message engine.status module=conf-engine
at 3 log free
at 3.5 calls 2 2001 802 rate=10
at 4.5 hangup all
at 5 message engine.status module=conf-engine
at 5.5 log release
at 9 message engine.status module=conf-engine
end 9.5
''', conf=conf, workdir=work)
        filler = []
        try:
            r = sim.act(('fill', lambda: filler.append(faultlib.fill(mnt, 0))),
                        ('free', lambda: [os.unlink(f) for f in filler]),
                        ('release', locker.release))
        finally:
            locker.close()
    tap.ok(locker.locked and r.ok, 'spool on a full disk, database locked: the conference runs',
           r.why())
    events = faultlib.db_rows(db, 'SELECT kind, room, leg, at FROM events')
    cdrs = faultlib.db_rows(db, 'SELECT room, leg, joined_at FROM cdrs')
    made_ev = faultlib.status(r, 'monitor_events')
    made_cdr = faultlib.status(r, 'monitor_cdrs')
    tap.ok(faultlib.status(r, 'store_spooled', 0) is not None and 'store_db=down' in
           r.messages('engine.status')[0].get('retval', ''),
           'spool: the database is down while the disk is full', r.messages('engine.status')[:1])
    tap.ok(events is not None and cdrs is not None and len(events) == made_ev and
           len(cdrs) == made_cdr and made_cdr == 12,
           'spool: once space and the database are back, the database holds every event (%s) and '
           'CDR (%s) the monitor made' % (made_ev, made_cdr),
           'rows: %s events, %s cdrs' % (None if events is None else len(events),
                                         None if cdrs is None else len(cdrs)))
    tap.ok(events is not None and not faultlib.doubled(events) and not faultlib.doubled(cdrs),
           'spool: nothing doubled', (faultlib.doubled(events), faultlib.doubled(cdrs)))
    said = faultlib.stderr_lines(r, 'spool')
    print('# what the engine said about the spool: %s' % said[:6])
    tap.ok(said and any('No space left on device' in t for t in said),
           'spool: the full disk is reported in the log', said)
    if tap.failed:
        dump(r)
    r.cleanup()


def recording():
    work = tempfile.mkdtemp(prefix='ce-full-rec-')
    with faultlib.small_fs(256) as mnt:
        conf = os.path.join(work, 'conf-engine.conf')
        faultlib.write(conf, '[general]\nnode=full3\n' + NOPROMPTS + 'record_dir=%s\n'
                       '[monitor]\nevent_log=%s/monitor.jsonl\ncdr_delay=0\n' % (mnt, work))
        sim = faultlib.Sim('''
route ^800$ conf/rec notify=conf-monitor/rec record=rec.wav
at 0.5 log fill
at 1 call 1001 800 play=tone:440
at 1.2 call 1002 800
at 6 message engine.status module=conf-engine
at 6.5 hangup all
end 7
''', conf=conf, workdir=work)
        r = sim.act(('fill', lambda: faultlib.fill(mnt, 40000)))  # 2.5 s of 16-bit 8 kHz audio
        path = os.path.join(mnt, 'rec.wav')
        ok, detail = faultlib.wav_ok(path)
        samples = simlib.read_wav(path)[1] if ok else []
    tap.ok(r.ok, 'recording on a full disk: the conference runs on', r.why())
    tap.ok(ok and len(samples) > 8000, 'recording: the WAV is valid and reads to its end, '
           'with the audio that fit (%d samples)' % len(samples), detail)
    tail = samples[-4000:]
    tap.ok(tail and simlib.tone_ratio(samples[8000:], 440) > 0.5,
           'recording: what it holds is the room (the talker\'s 440 Hz), to the last samples',
           simlib.tone_ratio(samples[8000:], 440) if samples else None)
    stop = [m for m in r.messages('chan.notify', event='recording') if m['params'].get('reason')]
    tap.ok(stop and stop[0]['params'].get('record') == '' and
           'space' in stop[0]['params'].get('reason', ''),
           'recording: a \'recording\' notification with an empty record= and the reason',
           [m['params'] for m in r.messages('chan.notify', event='recording')])
    tap.ok(faultlib.status(r, 'record_failures') == 1, 'recording: record_failures=1',
           faultlib.status(r, 'record_failures'))
    warned = faultlib.stderr_lines(r, 'recording')
    tap.ok(len([t for t in warned if 'disk full' in t]) == 1,
           'recording: one warning says the recording stopped on a full disk', warned)
    objs, broken = faultlib.jsonl_check(os.path.join(work, 'monitor.jsonl'))
    rs = [o for o in objs if o.get('event') == 'record-stop']
    tap.ok(rs and 'space' in str(rs[0]), 'recording: the monitor logs record-stop with the reason',
           rs or [o.get('event') for o in objs])
    if tap.failed:
        dump(r)
    r.cleanup()


for part in (event_log, spool, recording):
    try:
        part()
    except Exception as ex:  # a crash of the harness is a failure, not a hang
        tap.ok(False, '%s raised %r' % (part.__name__, ex))
tap.done()
