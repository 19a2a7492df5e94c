#!/usr/bin/env python3
"""test-yate-lobby.py - the lobby through real Yate: keys by chan.dtmf and by RFC 2833 (TAP).

conf-engine runs under a real Yate 6.4.1 whose regexroute sends 888 to
the `lobby` target.  The schedule (SQLite) has conference 800 (room
board, PIN 1234) running now, with participant Nina whose number is 1009,
and conference 900 later today.  Then:

1. Ann (a wave/ channel, 1001, playing 440 Hz) dials 888 and records what
   she hears; her keys go to Yate as chan.dtmf of her channel (what a
   script or a PRI channel does): 800#, a wrong PIN 9999#, then 1234#.
   She hears, told apart by content: welcome, enter-number, enter-pin,
   wrong-pin, try-again, enter-pin; then she is in room board;
2. Pat (a baresip SIP phone playing 700 Hz) dials 888 and keys in 800#
   and the moderator PIN 9876# as RFC 2833 telephone-events, which Yate's
   RTP decodes: he is in board as moderator, Ann hears him and he hears her;
3. Nina (1009) dials 888 and is recognised by her number: in board
   without a key;
4. the keypad: Pat's *4 mutes Ann and Nina (Yate gets event=mute for
   each), Ann's 1 (chan.dtmf) unmutes herself, Pat's *2 locks the room;
   Lou then keys in 800# and 1234# in the lobby, hears "this conference
   is locked" and goodbye, and is dropped (forbidden);
5. Tom dials 888 and keys in 900#: he hears "this conference starts at"
   and goodbye, and Yate's call ends with reason notstarted.

The store keeps a CDR of every lobby stay and Ann's, Pat's and Nina's
enter events in board with who they are.  The waits follow what happened
(notifications, what a recording holds), never the clock alone.
"""
import atexit
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import baresiplib  # noqa: E402
import yatelib  # noqa: E402
import simlib  # noqa: E402

tap = yatelib.Checked()
prefix = yatelib.require(tap)
found = baresiplib.require(tap)
US = 1000000
RATE = yatelib.RATE
WATCH = 'lobby-watch'


def make_db(path):
    db = simlib.schema_db(path)
    now = time.time()
    for number, room, pin, start, end in (('800', 'board', '1234', -60, 3600),
                                          ('900', 'later', None, 7200, 10800)):
        db.execute("INSERT INTO conferences (access_number, room, title, pin, moderator_pin,"
                   " starts_at, ends_at, early_join_s, early_alert_s, time_zone,"
                   " max_participants, announce_count)"
                   " VALUES (?, ?, 'Board meeting', ?, ?, ?, ?, 300, 86400, 'UTC', 10, 0)",
                   (number, room, pin, pin and '9876', int((now + start) * US),
                    int((now + end) * US)))
    cid = db.execute("SELECT id FROM conferences WHERE access_number = '800'").fetchone()[0]
    db.execute("INSERT INTO participants (conference_id, name, role, number)"
               " VALUES (?, 'Nina', 'participant', '1009')", (cid,))
    db.commit()
    db.close()
    return cid


def sql(path, query, args=()):
    import sqlite3
    db = sqlite3.connect(path, timeout=yatelib.WAIT)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute(query, args)]
    finally:
        db.close()


PROMPTS = {n: simlib.prompt_samples(n) for n in
           ('welcome', 'enter-number', 'enter-pin', 'wrong-pin', 'try-again', 'starts-at',
            'goodbye', 'is-locked')}


def has_prompt(samples, name, start=0):
    c, at = simlib.find_prompt(samples, PROMPTS[name], start=start)
    return (c > 0.8, round(c, 2), at)


def wait_prompt(read, name, start=0, timeout=yatelib.WAIT + 15):
    """Wait until the recording @read() returns holds prompt @name (after @start s)."""
    got = yatelib.wait_for(lambda: has_prompt(read(), name, start)[0] and
                           has_prompt(read(), name, start), timeout=timeout, step=1.0)
    return got or has_prompt(read(), name, start)


def keys_dtmf(d, chan, digits):
    """Keys as Yate's chan.dtmf of channel @chan (Yate completes it with the peer)."""
    for k in digits:
        d.request('chan.masquerade', {'id': chan, 'message': 'chan.dtmf', 'text': k})
        time.sleep(0.15)


def joined(d, room=None, **params):
    return [l for l in d.reports_of('chan.notify', event='joined', **params)
            if room is None or l.get('room') == room or
            (room == 'lobby/' and (l.get('room') or '').startswith('lobby/'))]


y = yatelib.Yate(prefix, 'lobby', engine='--config {conf}', routes=[r'^888$=lobby'])
atexit.register(shutil.rmtree, y.dir, True)
with open(y.engine_conf, 'a') as f:
    f.write('[conference]\nprompts_dir=%s\nlobby_entry_timeout=20000\nlobby_notify=%s\n'
            '[schedule]\ntick=200\nnotify_prefix=%s/\n[monitor]\ncdr_delay=0\ntargets=%s\n'
            % (os.path.join(yatelib.SRCDIR, 'conf', 'prompts'), WATCH, WATCH, WATCH))
db_path = y.path('conf-engine.db')
cid = make_db(db_path)

with baresiplib.Phones() as phones:
    pat = phones.start(tap, y, 'pat', found, yatelib.bursts(700, 300), label='Pat')
    with y:
        tap.yate = y
        tap.must(y.wait_engine(), 'conf-engine attached to Yate', y.log_tail())
        d = y.driver()
        d.watch('chan.notify', 'chan.hangup')

        # ---- 1. Ann: chan.dtmf ------------------------------------------------------------
        yatelib.write_slin(y.path('ann-play.slin'), yatelib.bursts(440, 300))
        ann_rec = y.path('ann.slin')
        ann, ans = d.call('888', play=y.path('ann-play.slin'), record=ann_rec, caller='1001')
        tap.must(bool(ann), 'Ann dials 888: Yate routes it to the lobby, answered',
                 (ans and ans.text, y.log_tail()))
        tap.must(yatelib.wait_for(lambda: joined(d, 'lobby/', caller='1001')),
                 'Ann is in a lobby room of her own', d.reports_of('chan.notify'))
        read_ann = lambda: yatelib.read_slin(ann_rec)  # noqa: E731
        r = wait_prompt(read_ann, 'enter-number')
        tap.ok(r[0], 'Ann hears "enter the conference number"', r)
        keys_dtmf(d, ann, '800#')
        r = wait_prompt(read_ann, 'enter-pin', start=r[2] or 0)
        tap.ok(r[0], 'after 800#, Ann hears "enter the PIN"', r)
        keys_dtmf(d, ann, '9999#')
        r = wait_prompt(read_ann, 'wrong-pin', start=r[2] or 0)
        tap.ok(r[0], 'after a wrong PIN, Ann hears "that PIN is not correct"', r)
        # a key now would cut the rest short (barge-in): she listens to the end
        r = wait_prompt(read_ann, 'enter-pin', start=r[2] or 0)
        tap.ok(r[0], 'and then "enter the PIN" again', r)
        keys_dtmf(d, ann, '1234#')
        got = yatelib.wait_for(lambda: joined(d, 'board', caller='1001'))
        tap.ok(bool(got), 'after 1234#, Ann joined room board', d.reports_of('chan.notify'))
        lobby_ids = {l.get('id') for l in joined(d, 'lobby/', caller='1001')}
        tap.ok(got and got[0].get('id') in lobby_ids,
               'on the same dumb/N she had in the lobby (the leg moved, no new one)',
               (lobby_ids, got and got[0].text))
        heard = read_ann()
        pos, order = 0, []
        for name in ('welcome', 'enter-number', 'enter-pin', 'wrong-pin', 'try-again',
                     'enter-pin'):
            ok, c, at = has_prompt(heard, name, pos)
            order.append((name, c, at))
            pos = at if ok else pos
        tap.ok(all(c > 0.8 for _, c, _ in order),
               'Ann heard, in order: welcome, enter-number, enter-pin, wrong-pin, try-again, '
               'enter-pin', order)

        # ---- 2. Pat: RFC 2833 from a SIP phone ------------------------------------------
        tap.must(pat.dial('888'), 'Pat dials 888 from his SIP phone: answered by the lobby',
                 pat.log_tail() + '\n' + y.log_tail())
        tap.must(yatelib.wait_for(lambda: joined(d, 'lobby/', caller='pat')),
                 'Pat is in the lobby', d.reports_of('chan.notify'))
        for k in '800#':
            tap.ok(pat.send_rfc2833(k), 'Pat presses %s (RFC 2833)' % k, pat.log_tail())
            time.sleep(0.3)
        time.sleep(1.5)
        for k in '9876#':
            pat.send_rfc2833(k)
            time.sleep(0.3)
        got = yatelib.wait_for(lambda: joined(d, 'board', caller='pat'))
        tap.ok(bool(got) and got[0].get('participant_role') == 'moderator',
               'Pat keyed in 800# and the moderator PIN as RFC 2833: in board as moderator',
               (got and got[0].text, d.reports_of('chan.notify'), pat.log_tail()))
        start = len(read_ann()) / RATE
        yatelib.wait_for(lambda: len(read_ann()) / RATE >= start + 4, timeout=yatelib.WAIT)
        ok, levels = simlib.who_hears(simlib.window(read_ann(), start + 1, start + 4),
                                      [700], [440])
        tap.ok(ok, 'Ann hears Pat (700 Hz) in the room, not herself (440 Hz)', levels)

        # ---- 3. Nina: recognised ----------------------------------------------------------
        nina, ans = d.call('888', caller='1009')
        tap.ok(bool(nina), 'Nina dials 888', ans and ans.text)
        got = yatelib.wait_for(lambda: joined(d, 'board', caller='1009'))
        tap.ok(bool(got) and got[0].get('participant_name') == 'Nina',
               'Nina is recognised by her number and joins board as Nina, no key pressed',
               got and got[0].text)

        # ---- 4. the keypad: a moderator's *4 and *2, a participant's 1 -------------------
        ann_leg = (joined(d, 'board', caller='1001') or [None])[0]
        nina_leg = (joined(d, 'board', caller='1009') or [None])[0]
        for k in '*4':
            pat.send_rfc2833(k)
            time.sleep(0.3)
        muted = yatelib.wait_for(lambda: {l.get('id') for l in d.reports_of(
            'chan.notify', event='mute')} >= {ann_leg and ann_leg.get('id'),
                                            nina_leg and nina_leg.get('id')})
        tap.ok(bool(muted), "Pat's *4 (RFC 2833) mutes Ann and Nina: Yate gets event=mute",
               [l.text for l in d.reports_of('chan.notify', event='mute')])
        keys_dtmf(d, ann, '1')
        got = yatelib.wait_for(lambda: d.reports_of('chan.notify', event='unmute',
                                                    id=ann_leg and ann_leg.get('id')))
        tap.ok(bool(got), "Ann's 1 (chan.dtmf) unmutes her", d.reports_of('chan.notify'))
        for k in '*2':
            pat.send_rfc2833(k)
            time.sleep(0.3)
        got = yatelib.wait_for(lambda: d.reports_of('chan.notify', event='locked'))
        tap.ok(bool(got), "Pat's *2 locks board (event=locked)",
               [l.text for l in d.reports_of('chan.notify')][-5:])
        lou_rec = y.path('lou.slin')
        lou, ans = d.call('888', record=lou_rec, caller='1005')
        read_lou = lambda: yatelib.read_slin(lou_rec)  # noqa: E731
        wait_prompt(read_lou, 'enter-number')
        keys_dtmf(d, lou, '800#')
        wait_prompt(read_lou, 'enter-pin')
        keys_dtmf(d, lou, '1234#')
        lou_leg = lambda: [h for h in d.reports_of('chan.hangup')  # noqa: E731
                           if lou in (h.get('targetid'), h.get('lastpeerid'))]
        hung = yatelib.wait_for(lou_leg, timeout=yatelib.WAIT + 15)
        r = has_prompt(read_lou(), 'is-locked')
        tap.ok(r[0] and bool(hung) and hung[0].get('status') == 'forbidden',
               'Lou, admitted by the schedule, hears "this conference is locked" and is dropped',
               (r, hung and hung[0].text))

        # ---- 5. Tom: too early ------------------------------------------------------------
        tom_rec = y.path('tom.slin')
        tom, ans = d.call('888', record=tom_rec, caller='1004')
        tap.ok(bool(tom), 'Tom dials 888', ans and ans.text)
        read_tom = lambda: yatelib.read_slin(tom_rec)  # noqa: E731
        r = wait_prompt(read_tom, 'enter-number')
        keys_dtmf(d, tom, '900#')
        # the engine drops its dumb/N, whose peer is Tom's channel; Yate's chan.hangup of
        # that channel carries the drop's reason as its status
        tom_leg = lambda: [h for h in d.reports_of('chan.hangup')  # noqa: E731
                           if tom in (h.get('targetid'), h.get('lastpeerid'))]
        hung = yatelib.wait_for(tom_leg, timeout=yatelib.WAIT + 15)
        tap.ok(bool(hung), "Tom's call ends", [h.text for h in d.reports_of('chan.hangup')])
        r1 = has_prompt(read_tom(), 'starts-at')
        r2 = has_prompt(read_tom(), 'goodbye', start=r1[2] or 0)
        tap.ok(r1[0] and r2[0], 'Tom hears "this conference starts at", then goodbye',
               (r1, r2))
        tap.ok(bool(hung) and hung[0].get('status') == 'notstarted' and
               (hung[0].get('id') or '').startswith('dumb/'),
               "the engine dropped Tom's leg with reason notstarted (Yate: status=notstarted)",
               [h.text for h in d.reports_of('chan.hangup')])

        # ---- the store --------------------------------------------------------------------
        def cdrs():
            rows = sql(db_path, "SELECT room, caller, reason FROM cdrs")
            return len([x for x in rows if x['room'].startswith('lobby/')]) >= 4 and rows

        rows = yatelib.wait_for(cdrs, timeout=yatelib.WAIT) or sql(
            db_path, "SELECT room, caller, reason FROM cdrs")
        tap.ok(len([x for x in rows if x['room'].startswith('lobby/')]) >= 4,
               'a CDR of each lobby stay', rows)
        tap.ok(any(x['room'].startswith('lobby/') and x['caller'] == '1004' and
                   x['reason'] == 'notstarted' for x in rows),
               "Tom's lobby CDR keeps the reason notstarted", rows)
        enters = sql(db_path, "SELECT caller, caller_name, role FROM events WHERE kind = 'enter'"
                     " AND room = 'board'")
        tap.ok({'1001', '1009'} <= {e['caller'] for e in enters} and
               any(e['caller_name'] == 'Nina' for e in enters),
               'the enter events in board say who came in', enters)
        kinds = sql(db_path, "SELECT kind, detail FROM events WHERE room = 'board'"
                    " AND kind IN ('lock', 'mute', 'unmute', 'keypad')")
        tap.ok({'lock', 'mute', 'unmute', 'keypad'} <= {k['kind'] for k in kinds},
               'the keypad left its rows: mute, unmute, lock, keypad', kinds)
tap.done()
