#!/usr/bin/env python3
"""test-record-sim.py - record= with a Yate target: the real conf-engine under yate-sim.

Prints TAP.  Yate's conference-server recipe puts
record=external/nodata/conference.php and recordwarn=- on the organizer:
the room calls that script from a utility leg, which hears the mix and,
with recordwarn=, speaks into the room.  The simulator's "external" line
stands for the script: it plays a 1000 Hz tone into its call and records
what it hears.  A file path is still recorded by the engine itself.
"""
import os
import shutil
import sys
import tempfile

SRC = os.environ.get('CE_SRCDIR') or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SRC, 'tests', 'sim'))
import simlib  # noqa: E402

tap = simlib.engine_tap('record= targets end to end')

# No prompts: whatever a phone hears comes from the other parties.
cfgdir = tempfile.mkdtemp(prefix='ce-record-sim-')
cfg = os.path.join(cfgdir, 'conf-engine.conf')
with open(cfg, 'w') as f:
    f.write('[conference]\nenter_prompt=\nleave_prompt=\nlonely_prompt=\nrecord_prompt=\n'
            'record_dir=%s\n' % cfgdir)
engine = simlib.ENGINE + ['--config', cfg]
SCRIPT = 'external/nodata/rec.php'

# The talking caller: 440 Hz beeps (0.4 s on, 0.2 s off), which the
# talker detector takes for speech.
BEEPS = simlib.write_wav(os.path.join(cfgdir, 'beeps.wav'), simlib.beeps(440, 6))


def tail(samples):
    """1.5 s well inside the call (recordings start when the phone's call does)."""
    return simlib.window(samples, 1.5, 3.0)


def heard_by(r, name):
    """What a phone recorded ([] when it never was in a call)."""
    return r.wav(name) if os.path.exists(r.path(name)) else []


def logged(r, text):
    return [e for e in r.events('stderr') if text in e.get('text', '')]


def run(room, warn):
    """Caller 1001 talks (440 Hz beeps), 1002 listens; the script plays 1000 Hz."""
    return simlib.run('''
route ^800$ conf/%s record=%s %snotify=mon/%s lonely=true
external rec.php play=tone:1000 record=rec.wav
at 0 call 1001 800 play=%s record=1001.wav
at 0.5 call 1002 800 record=1002.wav
at 4 hangup 1001
at 4 hangup 1002
end 5
''' % (room, SCRIPT, 'recordwarn=- ' if warn else '', room, BEEPS), module=engine)


# 1. recordwarn=-: the script is called as Yate's conference calls it, hears
#    the mix and speaks into the room.
r = run('rw', True)
tap.ok(r.ok, 'the scenario runs', r.why())
calls = r.messages('call.execute', handled=True, callto='dumb/', direct=SCRIPT)
p = calls[0]['params'] if calls else {}
tap.ok(len(calls) == 1 and p.get('target') == '800' and p.get('caller') == '1001' and
       p.get('room') == 'rw' and p.get('notify') == 'mon/rw' and p.get('targetid') == 'mon/rw' and
       p.get('cdrtrack') == 'false' and p.get('billid') and
       p.get('id', '').startswith('dumb/'),
       'one call.execute callto=dumb/ direct=TARGET with target, caller, room, notify, billid, '
       'cdrtrack=false', calls)
rec = p.get('id')
inner = r.messages('call.execute', handled=True, callto=SCRIPT)
q = inner[0]['params'] if inner else {}
tap.ok(len(inner) == 1 and q.get('id') == rec and q.get('room') == 'rw' and
       q.get('notify') == 'mon/rw' and q.get('caller') == '1001' and q.get('called') == '800' and
       q.get('billid') == p.get('billid') and q.get('cdrtrack') == 'false',
       'the script gets call.execute from the utility leg with room, notify, caller, called, '
       'billid, cdrtrack=false', inner)
tap.ok(not logged(r, 'cannot record'), 'no "cannot record": the target is not opened as a file',
       logged(r, 'cannot record'))
tap.ok(r.messages('chan.notify', event='recording', record=SCRIPT, targetid='mon/rw'),
       'the recording notification names the target')
rtp = r.messages('chan.rtp', handled=True, id=rec or '-', status='created')
tap.ok(rtp and not r.messages('chan.masquerade', id=rec or '-', message='call.answered'),
       'the utility leg gets RTP and no call.answered', rtp)
joined = r.messages('chan.notify', event='joined')
tap.ok(len(joined) == 2 and all(m['params'].get('id') != rec for m in joined) and
       max(int(m['params'].get('users', 0)) for m in joined) == 2,
       'not a participant: no joined event for it, users counts the two callers only', joined)
heard = heard_by(r, 'rec.wav')
tap.ok(simlib.tone_ratio(tail(heard), 440) > 0.2,
       'the script hears the talking caller (440 Hz, beside its own 1000 Hz: echo)',
       simlib.tone_ratio(tail(heard), 440))
b = heard_by(r, '1002.wav')
tap.ok(simlib.tone_ratio(tail(b), 1000) > 0.2, 'with recordwarn= callers hear the script (1000 Hz)',
       simlib.tone_ratio(tail(b), 1000))
tap.ok(r.messages('call.drop', id=rec or '-') and r.events('hungup', who='rec.php'),
       'the room ends: the utility leg is dropped and the script hangs up')
r.cleanup()

# 2. Without recordwarn= the utility leg only listens.
r = run('ro', False)
tap.ok(r.ok, 'the scenario runs', r.why())
tap.ok(len(r.messages('call.execute', handled=True, callto=SCRIPT, room='ro')) == 1,
       'the script is called')
heard = heard_by(r, 'rec.wav')
tap.ok(simlib.tone_ratio(tail(heard), 440) > 0.8, 'it hears the talking caller',
       simlib.tone_ratio(tail(heard), 440))
b = heard_by(r, '1002.wav')
tap.ok(simlib.tone_ratio(tail(b), 440) > 0.8 and simlib.tone_ratio(tail(b), 1000) < 0.02,
       'callers do not hear it', (simlib.tone_ratio(tail(b), 440), simlib.tone_ratio(tail(b), 1000)))
r.cleanup()

# 3. A file path is still recorded by the engine, as before.  1001 talks
#    (440 Hz beeps) and 1002 plays 1000 Hz; both hang up a second before the
#    room ends, while 1003, silent, stays: the WAV lasts as long as the room
#    recorded (its recording and destroyed notifications), holds both
#    talkers, and ends in silence.
wav = os.path.join(cfgdir, 'room.wav')
r = simlib.run('''
route ^800$ conf/rf record=wave/record/%s notify=mon/rf lonely=true
at 0 call 1001 800 play=%s
at 0.5 call 1002 800 play=tone:1000
at 0.5 call 1003 800
at 2.5 hangup 1001
at 3 hangup 1002
at 4 hangup all
end 5
''' % (wav, BEEPS), module=engine)
tap.ok(r.ok and not r.messages('call.execute', callto='dumb/', direct='wave/record/' + wav),
       'wave/record/PATH: no call placed', r.why())
began = r.messages('chan.notify', event='recording', targetid='mon/rf')
ended = r.messages('chan.notify', event='destroyed', targetid='mon/rf')
recorded = ended[0]['t'] - began[0]['t'] if began and ended else 0
ok, samples, detail = simlib.check_recording(wav, recorded)
tap.ok(ok, 'the room\'s WAV opens with Python\'s wave (8 kHz, 16-bit, mono) and lasts as long '
       'as the room recorded', detail)
ok, levels = simlib.who_hears(simlib.window(samples, 1.0, 2.0), [440, 1000])
tap.ok(ok, 'it holds both talkers (440 and 1000 Hz)', levels)
talk, quiet = simlib.window(samples, 1.0, 2.0), samples[-int(0.8 * 8000):-int(0.2 * 8000)]
tap.ok(simlib.level_dbfs(quiet) <= simlib.level_dbfs(talk) - 40,
       'and silence once only the silent caller is left (40 dB below the talk)',
       (simlib.level_dbfs(talk), simlib.level_dbfs(quiet)))
r.cleanup()
shutil.rmtree(cfgdir, ignore_errors=True)
tap.done()
