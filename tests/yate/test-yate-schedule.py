#!/usr/bin/env python3
"""test-yate-schedule.py - a scheduled conference through real Yate: admission and dial-out (TAP).

conf-engine runs under a real Yate 6.4.1 with its SQLite store and the
shipped conf/dialplan.conf (800 + PIN reaches `schedule/800;pin=PIN`,
7NNN `schedule/NNN`).  The test writes the schedule into the database:
conference 800 (PIN 1234, early join open, its start an hour away), 900
(later today) and 901 (over).  Then:

1. admission: Ann (a wave/ caller, 8001234) is admitted and records what
   she hears; a caller without a PIN (800) and one with a wrong PIN are
   refused with error=forbidden (pinrequired, badpin), which a SIP phone
   gets as 403; 7900 is refused as not started, 7901 as ended;
2. dial-out: the test moves the start to now, and the engine dials the
   participants, each routed by Yate's regexroute to a kind of target:
   Pat (a baresip phone that answers: call.answered), Mia (tone/milliwatt)
   and Walt (wave/play of a file: both connect without call.answered), Bob
   (a phone that rejects: 486, busy), Nora (a phone that rings and never
   answers: Yate ends the ringing after [schedule] dial_ring_timeout with
   noanswer), Otto (a route that says offline) and Nick (a number no route
   knows).  Ann hears Pat, Mia and Walt; Pat hears Mia and Walt, not
   himself;
3. the end: the test moves the end to now, the engine drops every leg.

The store then holds, as docs/schedule.md says: Ann, Pat, Mia and Walt
entered once and left with schedule-ended, each with a CDR of real length;
Bob, Nora, Otto and Nick left exactly one event each, `dial-out failed:
busy / noanswer / offline / noroute`, with who they are, and no CDR.
[schedule] dial_retries=0: nobody is dialled twice.  Every wait is
bounded; the phases follow what happened (database rows, recordings),
never the clock.
"""
import atexit
import os
import shutil
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import baresiplib  # noqa: E402
import yatelib  # noqa: E402

tap = yatelib.Checked()
prefix = yatelib.require(tap)
found = baresiplib.require(tap)
US = 1000000
RATE = yatelib.RATE
LISTEN = 4.0  # seconds Ann and Pat record with everyone in the room (by the recording's length)
RING = 3000   # ms Nora's phone rings before Yate gives up (dial_ring_timeout)
# lobby=false: the caller without a PIN is refused (403), not sent to the lobby
ENGINE_CONF = '''[schedule]
lobby=false
tick=200
poll_interval=1
dial_retries=0
dial_ring_timeout=%d
[conference]
prompts_dir=%%s
[monitor]
cdr_delay=500
''' % RING

# participant, number dialled: each number is routed below to one kind of target
DIALLED = (('Pat Phone', '9001'), ('Mia Milliwatt', '9002'), ('Walt Wave', '9003'),
           ('Bob Busy', '9004'), ('Nora Noanswer', '9005'), ('Otto Offline', '9006'),
           ('Nick Noroute', '9007'))
IN_ROOM = ('Pat Phone', 'Mia Milliwatt', 'Walt Wave')
FAILED = {'Bob Busy': 'busy', 'Nora Noanswer': 'noanswer', 'Otto Offline': 'offline',
          'Nick Noroute': 'noroute'}


def make_db(path):
    """The store's schema (sql/sqlite/) and the three conferences; the ids of 800's people."""
    db = sqlite3.connect(path)
    sqldir = os.path.join(yatelib.SRCDIR, 'sql', 'sqlite')
    for name in sorted(os.listdir(sqldir)):
        if name.endswith('.sql'):
            with open(os.path.join(sqldir, name)) as f:
                db.executescript('BEGIN;' + f.read() + 'COMMIT;')
    now = time.time()
    for number, room, pin, start, end, early in (('800', 'board', '1234', 3600, 7200, 7200),
                                                 ('900', 'later', None, 7200, 10800, 300),
                                                 ('901', 'past', None, -7200, -3600, 300)):
        db.execute("INSERT INTO conferences (access_number, room, title, pin, starts_at,"
                   " ends_at, early_join_s, early_alert_s, end_alert_s, max_participants)"
                   " VALUES (?, ?, 'Board meeting', ?, ?, ?, ?, 86400, 0, 10)",
                   (number, room, pin, int((now + start) * US), int((now + end) * US), early))
    cid = db.execute("SELECT id FROM conferences WHERE access_number = '800'").fetchone()[0]
    ids = {}
    for name, number in DIALLED:
        ids[name] = db.execute("INSERT INTO participants (conference_id, name, address, role,"
                               " dial_out) VALUES (?, ?, ?, 'participant', 1)",
                               (cid, name, number)).lastrowid
    db.commit()
    db.close()
    return cid, ids


def sql(path, query, args=()):
    """Run @query on the engine's database (WAL: the engine keeps it open); rows as dicts."""
    db = sqlite3.connect(path, timeout=yatelib.WAIT)
    db.row_factory = sqlite3.Row
    try:
        rows = [dict(r) for r in db.execute(query, args)]
        db.commit()
        return rows
    finally:
        db.close()


def of(rows, name):
    return [r for r in rows if r.get('caller_name') == name]


def refusal(d, number, caller):
    """A dumb/ caller dials @number: Yate's answer to its call.execute (dumbchan copies the
    routed call's error and reason into it), or None."""
    return d.request('call.execute', {'callto': 'dumb/', 'target': number, 'caller': caller})


y = yatelib.Yate(prefix, 'schedule', engine='--config {conf}')
atexit.register(shutil.rmtree, y.dir, True)  # a test that ends before Yate starts
with open(y.engine_conf, 'a') as f:  # it names this Yate's folder, known only now
    f.write(ENGINE_CONF % y.path('no-prompts'))
os.mkdir(y.path('no-prompts'))  # what Ann and Pat hear is the room, not prompts
shutil.copy(os.path.join(yatelib.SRCDIR, 'conf', 'dialplan.conf'), y.path('dialplan.conf'))
db_path = y.path('conf-engine.db')
cid, ids = make_db(db_path)

with baresiplib.Phones() as phones:
    wave_file = y.path('walt.slin')
    yatelib.write_slin(wave_file, yatelib.bursts(440, 10))
    phone = {key: phones.start(tap, y, key, found, play, answermode=mode)
             for key, play, mode in (('pat', yatelib.bursts(700, 300), 'auto'),
                                     ('bob', None, None), ('nora', None, None))}
    y.set_routes([r'^9001$=sip/' + phone['pat'].uri(),
                  r'^9002$=tone/milliwatt',
                  r'^9003$=wave/play/%s;autorepeat=true' % wave_file,
                  r'^9004$=sip/' + phone['bob'].uri(),
                  r'^9005$=sip/' + phone['nora'].uri(),
                  r'^9006$=-;error=offline'])
    with y:
        tap.yate = y
        tap.must(y.wait_engine(), 'conf-engine attached to Yate', y.log_tail())
        d = y.driver()
        d.watch('call.answered')

        # ---- 1. admission ----------------------------------------------------------------
        ann, ans = d.call('8001234', record=y.path('ann.slin'), caller='1001', callername='Ann')
        tap.must(bool(ann), 'Ann dials 800 + PIN 1234 (the shipped dialplan) and is admitted early',
                 (ans and ans.text, y.log_tail()))
        for number, caller, why in (('800', '1002', 'pinrequired'),
                                    ('8009999', '1003', 'badpin'),
                                    ('7900', '1004', 'notstarted'),
                                    ('7901', '1005', 'ended')):
            r = refusal(d, number, caller)
            tap.ok(r is not None and not r.handled and r.get('error') == 'forbidden' and
                   (r.get('reason') or '').startswith(why + ':'),
                   '%s is refused: error=forbidden, reason %s' % (number, why),
                   r and r.text)
        bob = phone['bob']
        tap.ok(not bob.dial('800') and bob.refused is not None and
               (bob.refused.get('param') or '').startswith('403 pinrequired'),
               'a SIP phone dialling 800 without a PIN gets 403 pinrequired',
               (bob.refused, bob.log_tail()))
        refused_here = sql(db_path, 'SELECT count(*) AS n FROM cdrs')
        tap.ok(refused_here[0]['n'] == 0, 'no refused caller has a CDR', refused_here)

        # ---- 2. the start: dial-out ------------------------------------------------------
        sql(db_path, 'UPDATE conferences SET starts_at = ? WHERE id = ?',
            (int(time.time() * US), cid))
        pat, nora = phone['pat'], phone['nora']
        tap.ok(pat.wait_answered() is not None,
               "Pat's phone rings and answers by itself (call.answered)", pat.log_tail())
        tap.ok(bob.wait_incoming() is not None and bob.reject(),
               "Bob's phone rings and he rejects the call (486)", bob.log_tail())
        tap.ok(nora.wait_incoming() is not None, "Nora's phone rings", nora.log_tail())

        def entered():
            rows = sql(db_path, "SELECT caller_name FROM events WHERE kind = 'enter'"
                       " AND conference_id = ?", (cid,))
            names = {r['caller_name'] for r in rows}
            return all(n in names for n in IN_ROOM) and names

        def failures():
            rows = sql(db_path, "SELECT * FROM events WHERE detail LIKE 'dial-out failed: %'")
            return len(rows) >= len(FAILED) and rows

        got = yatelib.wait_for(entered, timeout=yatelib.WAIT + RING / 1000.0, step=0.2)
        tap.ok(bool(got), 'Pat, Mia and Walt entered the room (enter events)',
               sql(db_path, 'SELECT kind, caller_name, detail FROM events'))
        fails = yatelib.wait_for(failures, timeout=yatelib.WAIT + RING / 1000.0, step=0.2)
        tap.ok(bool(fails), 'four dial-out failures are stored',
               sql(db_path, 'SELECT kind, caller_name, detail FROM events'))
        tap.ok(nora.closed() is not None or nora.wait_event('CALL_CLOSED') is not None,
               "Nora's phone stopped ringing: Yate cancelled the call", nora.log_tail())
        answered = d.reports_of('call.answered')
        tap.ok([a for a in answered if (a.get('id') or '').startswith('sip/') and
                (a.get('peerid') or '').startswith('dumb/')],
               "Pat's answer reached Yate as call.answered (sip/N to the engine's dumb/N)",
               [a.text for a in answered])
        tap.ok(not [a for a in answered if (a.get('id') or '').startswith(('tone/', 'wave/'))],
               'tone/ and wave/ never sent call.answered', [a.text for a in answered])

        # everyone who answered is in: listen
        ann_file = y.path('ann.slin')
        ann_from = os.path.getsize(ann_file) // 2 if os.path.exists(ann_file) else 0
        pat_from = pat.heard_seconds()
        heard_enough = yatelib.wait_for(
            lambda: (os.path.getsize(ann_file) // 2 >= ann_from + LISTEN * RATE and
                     pat.heard_seconds() >= pat_from + LISTEN),
            timeout=yatelib.WAIT + LISTEN, step=0.2)
        tap.ok(bool(heard_enough), 'Ann and Pat hear the room for %.0f s' % LISTEN,
               (os.path.getsize(ann_file) // 2 - ann_from, pat.heard_seconds() - pat_from))
        tap.ok(pat.closed() is None, "Pat's phone is still in the call", pat.log_tail())

        # ---- 3. the end --------------------------------------------------------------------
        sql(db_path, 'UPDATE conferences SET ends_at = ? WHERE id = ?',
            (int(time.time() * US), cid))
        tap.ok(pat.wait_event('CALL_CLOSED') is not None,
               "the end hangs up Pat's phone", pat.log_tail())
        gone = yatelib.wait_for(lambda: 'board' not in y.rm('conf list'))
        tap.ok(bool(gone), 'the room is gone', y.rm('conf list'))

        def cdrs_written():
            rows = sql(db_path, 'SELECT * FROM cdrs WHERE conference_id = ?', (cid,))
            return len(rows) >= 1 + len(IN_ROOM) and rows

        tap.ok(bool(yatelib.wait_for(cdrs_written, step=0.2)),
               'CDRs are written for Ann, Pat, Mia and Walt',
               sql(db_path, 'SELECT * FROM cdrs'))
        status = y.engine_status()
        events = sql(db_path, 'SELECT * FROM events WHERE conference_id = ? ORDER BY id',
                     (cid,))
        cdrs = sql(db_path, 'SELECT * FROM cdrs WHERE conference_id = ? ORDER BY id', (cid,))
        ann_heard = yatelib.read_slin(ann_file)[ann_from:ann_from + int(LISTEN * RATE)]
        pat_heard = pat.heard()[int(pat_from * RATE):int((pat_from + LISTEN) * RATE)]

    # ---- what the store says -----------------------------------------------------------------
    for name in ('Ann',) + IN_ROOM:
        kinds = [e['kind'] for e in of(events, name) if e['kind'] in ('enter', 'leave')]
        leave = [e for e in of(events, name) if e['kind'] == 'leave']
        tap.ok(kinds == ['enter', 'leave'] and leave[0]['detail'] == 'schedule-ended',
               '%s entered once and left once, with schedule-ended' % name, of(events, name))
        cdr = of(cdrs, name)
        tap.ok(len(cdr) == 1 and cdr[0]['reason'] == 'schedule-ended' and
               cdr[0]['duration_ms'] >= LISTEN * 1000,
               '%s has one CDR: reason schedule-ended, seconds long' % name, cdr)
    for name in IN_ROOM:
        number = dict(DIALLED)[name]
        bad = [e for e in of(events, name) + of(cdrs, name)
               if (e['participant_id'], e['caller'], e['called'], e['direction']) !=
               (ids[name], number, number, 'out')]
        tap.ok(not bad, "%s's events and CDR say who: participant, number dialled, out" % name,
               bad)
    ann_cdr = of(cdrs, 'Ann')
    tap.ok(ann_cdr and ann_cdr[0]['direction'] == 'in' and ann_cdr[0]['caller'] == '1001',
           "Ann's CDR: she called in from 1001", ann_cdr)
    details = [e['detail'] for e in events if (e['detail'] or '').startswith('dial-out failed')]
    for name, error in FAILED.items():
        number = dict(DIALLED)[name]
        mine = of(events, name)
        tap.ok(len(mine) == 1 and mine[0]['kind'] == 'leave' and
               mine[0]['detail'] == 'dial-out failed: ' + error,
               '%s: exactly one event, a leave "dial-out failed: %s"' % (name, error), mine)
        tap.ok(mine and (mine[0]['participant_id'], mine[0]['role'], mine[0]['caller'],
                         mine[0]['called'], mine[0]['direction']) ==
               (ids[name], 'participant', number, number, 'out'),
               "%s's failure says who: participant, role, number dialled, out" % name, mine)
        tap.ok(not of(cdrs, name), '%s has no CDR' % name, of(cdrs, name))
    tap.ok(len(details) == len(FAILED),
           'no other dial-out failure (dial_retries=0: nobody dialled twice)', details)
    tap.ok('schedule_dial_failed=4,' in status and 'schedule_refused=5,' in status,
           'status conf-engine counts 5 refused callers and 4 dial-out failures', status)

    # ---- what was heard: the others present, Pat's own bursts absent (simlib.who_hears) ---------
    hears = yatelib.simlib.who_hears
    ok, levels = hears(ann_heard, [700, 1000, 440], floor=-30)
    tap.ok(ok, "Ann hears Pat's phone (700 Hz), Mia's milliwatt (1000 Hz) and Walt's file "
           "(440 Hz)", (len(ann_heard), levels))
    # his bursts would read about -18 dB, 20 dB and more above the milliwatt's leakage into
    # the 700 Hz filter (20 ms frames, about -47 dB)
    ok, levels = hears(pat_heard, [1000, 440], [700], floor=-30)
    tap.ok(ok, "Pat hears Mia's milliwatt (1000 Hz) and Walt's file (440 Hz), not himself "
           "(700 Hz)", (len(pat_heard), levels))

tap.done()
