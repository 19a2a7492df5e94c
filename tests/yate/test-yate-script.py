#!/usr/bin/env python3
"""test-yate-script.py - a Yate script moves a call that is up into a conf-engine room, through real Yate (TAP).

The classic Yate conference scripts watch calls and, for one that is up,
send (on a real Yate 6.4.1, the test's own script on the extmodule socket)

    chan.masquerade id=wave/N message=call.execute callto=conf/scr
        record=wave/record/PATH existing=false notify=conf-monitor/scr

A is a wavefile caller (it plays 600 Hz bursts and records what it hears)
routed by regexroute to tone/dial (Yate's tonegen: 421 Hz); the script
moves A into conf/scr, where B (1400 Hz bursts) joins later by a route
with existing=true; when B leaves, A, alone in a room without lonely=, is
dropped by the room.  Checked:
  - the masquerade's answer: handled, room=conf/scr, peerid=dumb/N (Yate's
    dumb channel, as Yate's conference answers peerid=conf/N), newroom=true,
    users=1;
  - A's old peer (tone/M) hangs up; A first heard 421 Hz, then the room
    (B's 1400 Hz, no more 421 Hz, never its own 600 Hz); B hears A and not
    itself;
  - the record= file is a readable 8 kHz WAV (Python's wave) as long as the
    room recorded (from the move to B's leaving, within 0.5 s or a tenth),
    holding both A and B;
  - existing=true for a room that does not exist is refused: not handled,
    no room made, and the caller (C, also on tone/dial) stays in its call,
    as with Yate's own conference module (checked on a Yate without the
    engine), which adds no error= where the engine says error=noroute;
  - the chan.notify events for conf-monitor/scr (created, joined,
    recording, left, destroyed, with Yate's parameters) reach the script's
    watcher.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yatelib  # noqa: E402

tap = yatelib.Checked()
prefix = yatelib.require(tap)
ROOM, MONITOR = 'conf/scr', 'conf-monitor/scr'
# record_dir=. is the folder of conf-engine.conf: Yate's, where y.path() puts files
NO_PROMPTS = '[conference]\nenter_prompt=\nleave_prompt=\nlonely_prompt=\nrecord_dir=.\n'


def peer_of(d, chan):
    """The channel @chan was connected to by its call.execute (Yate's report), or None."""
    for r in d.reports_of('call.execute', id=chan):
        if r.handled and r.get('peerid'):
            return r.get('peerid')
    return None


def tone_chans(y):
    """Ids of the tone/ channels Yate has now (rmanager `status tone`)."""
    import re
    return re.findall(r'tone/\d+', y.rm('status tone', until=r'\r\n', timeout=3))


def _try_wav(path):
    """(rate, samples) of a WAV file once it is complete, else None."""
    try:
        return yatelib.simlib.read_wav(path)
    except (OSError, EOFError, ValueError, Exception):
        return None


def notify_params(d, event):
    return [r for r in d.reports_of('chan.notify', targetid=MONITOR) if r.get('event') == event]


with yatelib.Yate(prefix, 'script', engine='--config {conf}', engine_conf=NO_PROMPTS,
                  routes=[r'^700$=tone/dial', r'^801$=%s;existing=true' % ROOM]) as y:
    tap.yate = y
    tap.ok(y.wait_engine(), 'conf-engine attached to Yate', y.log_tail())
    d = y.driver()
    d.watch('call.execute', 'chan.hangup', 'chan.disconnected', 'chan.notify')
    yatelib.write_slin(y.path('a.slin'), yatelib.bursts(600, 40))
    yatelib.write_slin(y.path('b.slin'), yatelib.bursts(1400, 40))
    rec = y.path('room.wav')

    # A is up with tone/dial, as a call a script would pick
    a, ans = d.call('700', play=y.path('a.slin'), record=y.path('heard-A.slin'), caller='1001')
    old = a and yatelib.wait_for(lambda: peer_of(d, a))
    tap.ok(bool(a) and bool(old) and old.startswith('tone/'),
           'A (%s) calls 700 and is up with tone/dial (%s)' % (a, old), ans)
    time.sleep(2)

    # the script moves A into the room
    t_moved = time.monotonic()
    masq = d.request('chan.masquerade', [
        ('id', a or ''), ('message', 'call.execute'), ('callto', ROOM),
        ('record', 'wave/record/' + rec), ('existing', 'false'), ('notify', MONITOR)])
    tap.ok(masq is not None and masq.name == 'call.execute' and masq.handled and
           masq.get('room') == ROOM and (masq.get('peerid') or '').startswith('dumb/') and
           masq.get('newroom') == 'true' and masq.get('users') == '1',
           'the masquerade is answered as Yate answers a conference join: handled, room=%s, '
           'peerid=dumb/N, newroom=true, users=1' % ROOM, masq)
    leg_a = masq.get('peerid') if masq else None
    # Yate disconnects the old peer; a tone channel then goes away (tonegen
    # sends no chan.hangup: it is simply destroyed)
    disc = old and d.wait_seen('chan.disconnected', id=old)
    gone = disc and yatelib.wait_for(lambda: old not in tone_chans(y))
    tap.ok(bool(gone), "A's old peer %s is disconnected and gone" % old,
           (d.reports_of('chan.disconnected'), y.rm('status tone')))

    # B joins the room the script made (existing=true: the room exists)
    b, ans = d.call('801', play=y.path('b.slin'), record=y.path('heard-B.slin'), caller='1002')
    tap.ok(bool(b), 'B calls 801 (conf/scr;existing=true) and joins the room', ans)

    # existing=true for a room that does not exist: refused, C stays with its tone
    c, ans = d.call('700', caller='1003')
    c_old = c and yatelib.wait_for(lambda: peer_of(d, c))
    refused = d.request('chan.masquerade', [
        ('id', c or ''), ('message', 'call.execute'), ('callto', 'conf/nosuch'),
        ('existing', 'true'), ('notify', 'conf-monitor/nosuch')])
    tap.ok(refused is not None and not refused.handled and
           not (refused.get('peerid') or '').startswith('dumb/') and
           refused.get('error') == 'noroute',
           'existing=true for a room that does not exist is refused (not handled, no peerid; '
           'the engine says error=noroute where Yate says nothing)', refused)
    time.sleep(1)
    tap.ok(c_old and c_old in tone_chans(y) and not d.reports_of('chan.disconnected', id=c) and
           'conf/nosuch' not in y.rm('conf list'),
           'the refused caller stays in its call and no room is made', y.rm('conf list'))

    time.sleep(5)
    # B leaves; A, left alone in a room without lonely=, is dropped by the room (as in Yate)
    in_room = time.monotonic() - t_moved
    d.drop(b)
    # the room records from the move until it ends, when B leaves and the room drops A
    recorded = time.monotonic() - t_moved
    time.sleep(3)
    d.drop(a)
    d.drop(c)
    gone = yatelib.wait_for(lambda: 'conf/scr' not in y.rm('conf list'))
    tap.ok(bool(gone), 'both left: the engine has closed the room', y.rm('conf list'))
    destroyed = d.wait_seen('chan.notify', targetid=MONITOR, event='destroyed')

    # notifications, as Yate's conference sends them
    created = notify_params(d, 'created')
    tap.ok(len(created) == 1 and created[0].names() == [
        'targetid', 'event', 'room', 'rate', 'maxusers', 'caller', 'called', 'billid',
        'username'] and created[0].get('room') == 'scr',
        'created reaches the script, with the parameters of Yate\'s conference',
        [l.text for l in created])
    # after Yate's own parameters, the engine says who joined (docs/conference.md)
    IDENTITY = {'caller', 'callername', 'called', 'billid', 'conference_id', 'participant_id',
                'participant_role', 'participant_name', 'participant_number',
                'participant_direction'}
    joined = notify_params(d, 'joined')
    tap.ok(len(joined) == 2 and joined[0].get('id') == leg_a and joined[0].get('users') == '1' and
           joined[1].get('users') == '2' and all(
               j.names()[:8] == ['id', 'targetid', 'counted', 'utility', 'room', 'event',
                                 'maxusers', 'users'] and
               set(j.names()[8:]) <= IDENTITY for j in joined),
           'joined for A (users=1) then B (users=2), with Yate\'s parameters (then who joined)',
           [l.text for l in joined])
    recording = notify_params(d, 'recording')
    tap.ok(len(recording) >= 1 and recording[0].get('record') == 'wave/record/' + rec and
           recording[0].get('room') == 'scr',
           'recording (record=wave/record/PATH) reaches the script', [l.text for l in recording])
    left = notify_params(d, 'left')
    tap.ok(len(left) == 2 and left[1].get('id') == leg_a and
           left[1].get('lastpeerid') == a and left[0].get('users') == '1' and
           left[1].get('users') == '0',
           'left for B (users=1) then A, whom the room drops as Yate does without lonely= '
           '(users=0, lastpeerid=%s)' % a, [l.text for l in left])
    tap.ok(bool(destroyed) and destroyed[0].names() == ['targetid', 'event', 'room', 'maxusers'],
           'destroyed reaches the script', [l.text for l in destroyed])

    # what A heard: the tone first, then the room
    ha = yatelib.read_slin(y.path('heard-A.slin'))
    hb = yatelib.read_slin(y.path('heard-B.slin'))
    h = yatelib.heard
    head = ha[:int(1.5 * yatelib.RATE)]
    # the end of A's recording: the time from the move to B's leaving, less a second
    tail = ha[-int((in_room - 1) * yatelib.RATE):] if in_room > 5 else []
    tap.ok(h(head, 421) > 0.8, 'A first hears tone/dial (421 Hz)', h(head, 421))
    hears = yatelib.simlib.who_hears
    ok, levels = hears(tail, [1400], [421, 600])
    tap.ok(len(tail) > 0 and ok,
           'after the move A hears B (1400 Hz), no more tone/dial, not itself (600 Hz)', levels)
    ok, levels = hears(hb, [600], [1400])
    tap.ok(ok, 'B hears A (600 Hz), not itself (1400 Hz)', levels)

    # the room's recording
    wav = yatelib.wait_for(lambda: (lambda r: r if r and len(r[1]) > 0 else None)(
        _try_wav(rec)), timeout=10)
    ok, samples, detail = yatelib.simlib.check_recording(rec, recorded)
    tap.ok(wav and ok, 'the record= file is a readable 8 kHz WAV of the room, as long as the '
           'room recorded', detail)
    ok, levels = hears(samples, [600, 1400])
    tap.ok(ok, 'the recording holds both A (600 Hz) and B (1400 Hz)', levels)

# For reference: real Yate's own conference module (no conf-engine attached) refuses the
# same request without an error of its own; a routed caller would then be rejected with
# Yate's default, noconn.
with yatelib.Yate(prefix, 'script-yate', start_engine=False, routes=[r'^700$=tone/dial']) as y:
    tap.yate = y
    d = y.driver()
    d.watch('call.execute')
    c, ans = d.call('700', caller='1003')
    c_old = c and yatelib.wait_for(lambda: peer_of(d, c))
    refused = d.request('chan.masquerade', [
        ('id', c or ''), ('message', 'call.execute'), ('callto', 'conf/nosuch'),
        ('existing', 'true'), ('notify', 'conf-monitor/nosuch')])
    tap.ok(bool(c_old) and refused is not None and not refused.handled and
           refused.get('error') is None and refused.get('peerid') == c_old,
           "Yate's own conference refuses existing=true for a missing room the same way, "
           "without error=", refused)
    d.drop(c)

tap.done()
