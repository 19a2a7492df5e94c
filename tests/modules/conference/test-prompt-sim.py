#!/usr/bin/env python3
"""test-prompt-sim.py - prompts and recording end to end: the real conf-engine under yate-sim.

Prints TAP.  The engine runs with the source tree's conf/prompts; the
callers send silence, so whatever they hear is a prompt.
"""
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import wave

SRC = os.environ.get('CE_SRCDIR') or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SRC, 'tests', 'sim'))
import simlib  # noqa: E402

tap = simlib.engine_tap('prompts end to end')

cfgdir = tempfile.mkdtemp(prefix='ce-prompt-sim-')
cfg = os.path.join(cfgdir, 'conf-engine.conf')
with open(cfg, 'w') as f:
    f.write('[conference]\nprompts_dir=%s\nrecord_dir=%s\n' % (os.path.join(SRC, 'conf', 'prompts'), cfgdir))
engine = simlib.ENGINE + ['--config', cfg]


def best_ratio(samples, freq, win=800):
    """The highest share of @freq over 100 ms windows of @samples."""
    return max([simlib.tone_ratio(samples[i:i + win], freq)
                for i in range(0, max(len(samples) - win, 1), win // 2)] or [0.0])


def rms(samples):
    return (sum(x * x for x in samples) / len(samples)) ** 0.5 if samples else 0.0


# 1. Alone: the lonely prompt; the second caller: the enter tones, heard by both.
rec = os.path.join(cfgdir, 'room.flac')
r = simlib.run('''
route ^800$ conf/p1 lonely=true notify=mon/p1
at 0 call 1001 800 record=1001.wav
at 3 expect audio 1001 window=2000
at 4 call 1002 800 record=1002.wav
at 5 message chan.control targetid=conf/p1 operation=record file=%s
at 9 message chan.control targetid=conf/p1 operation=stoprecord
at 9.5 hangup all
end 10.5
''' % rec, module=engine)
tap.ok(r.ok, 'the lonely caller hears the lonely prompt', r.why())
a, b = r.wav('1001.wav'), r.wav('1002.wav')
tap.ok(rms(a[:3 * 8000]) > 300, 'speech in the first 3 s of 1001 (lonely prompt)', rms(a[:24000]))
late_a = a[4 * 8000:]
tap.ok(best_ratio(late_a, 660) > 0.5 and best_ratio(late_a, 880) > 0.5,
       '1001 hears the enter tones when 1002 joins',
       (best_ratio(late_a, 660), best_ratio(late_a, 880)))
tap.ok(best_ratio(b, 660) > 0.5 and best_ratio(b, 880) > 0.5, '1002 hears them too',
       (best_ratio(b, 660), best_ratio(b, 880)))
notes = [m['params'] for m in r.messages('chan.notify', event='recording')]
tap.ok(len(notes) == 1 and notes[0].get('record') == rec and notes[0].get('targetid') == 'mon/p1',
       'chan.control record: the recording notification', notes)
try:
    out = subprocess.run(['soxi', '-D', rec], capture_output=True, text=True).stdout.strip()
    secs = float(out or 0)
except (OSError, ValueError):
    secs = -1
tap.ok(2.5 <= secs <= 5.5, 'the FLAC recording lasts about 4 s', secs)
r.cleanup()

# 2. The console: conf play to one leg, conf record a WAV, conf stoprecord.
rec2 = os.path.join(cfgdir, 'room2.wav')
r = simlib.run('''
route ^800$ conf/p2 lonely=true
at 0 call 1001 800 record=1001.wav
at 0.5 call 1002 800 record=1002.wav
at 3 message engine.command line="conf play p2 ended.wav dumb/1"
at 5.5 message engine.command line="conf record p2 %s"
at 8.5 message engine.command line="conf stoprecord p2"
at 9 hangup all
end 10
''' % rec2, module=engine)
a, b = r.wav('1001.wav'), r.wav('1002.wav')
tap.ok(rms(a[3 * 8000:5 * 8000]) > 300 and rms(b[3 * 8000:5 * 8000]) < 50,
       'conf play ... dumb/1: 1001 hears it, 1002 does not',
       (rms(a[3 * 8000:5 * 8000]), rms(b[3 * 8000:5 * 8000])))
cmds = {m['params'].get('line', '').split()[1]: m['t'] for m in r.messages('engine.command')
        if m['params'].get('line', '').startswith(('conf record ', 'conf stoprecord '))}
ok, _, detail = simlib.check_recording(rec2, cmds.get('stoprecord', 0) - cmds.get('record', 0))
tap.ok(ok, 'conf record: a WAV (Python\'s wave) as long as from record to stoprecord', detail)
r.cleanup()
# 3. Queued tones: two chan.control plays to the room at once are heard one
#    after the other; an unknown tone is refused and nothing else changes.
r = simlib.run('''
route ^800$ conf/p3 lonely=true
at 0 call 1001 800 record=1001.wav
at 0.5 call 1002 800 record=1002.wav
at 4 message chan.control targetid=conf/p3 operation=play file=tone/dial duration=1000
at 4 message chan.control targetid=conf/p3 operation=play file=tone/milliwatt duration=1000
at 4 message chan.control targetid=conf/p3 operation=play file=tone/nosuch
at 7 hangup all
end 8
''', module=engine)
b = r.wav('1002.wav')
# 100 ms windows from 3 s on (the recording starts when the call is up)
wins = [(simlib.tone_ratio(b[i:i + 800], 425), simlib.tone_ratio(b[i:i + 800], 1000))
        for i in range(3 * 8000, len(b) - 800, 800)]
seq = ''.join('d' if d > 0.8 else 'm' if m > 0.8 else 'x' if d > 0.2 and m > 0.2 else '.'
              for d, m in wins)
# The windows fall where the call's recording started, not on the prompts'
# frames: the one window across the change from one tone to the next holds
# both (by turns, not at once); any other holding both is an overlap.
core = seq.strip('.').replace('dxm', 'dm', 1)
tap.ok('x' not in core and 'm' in core and 'd' in core and core.rindex('d') < core.index('m') and
       8 <= core.count('d') <= 11 and 8 <= core.count('m') <= 11,
       'the second play waits for the first: 1 s of 425 Hz, then 1 s of 1000 Hz, never both',
       seq)
bad = r.messages('chan.control', file='tone/nosuch')
tap.ok(len(bad) == 1 and not bad[0]['handled'] and
       bad[0]['params'].get('reason') == 'unknown tone',
       'an unknown tone: false, reason=unknown tone', bad)
r.cleanup()
# 4. The console sets a tone's length: conf play ... duration=MS to one leg;
#    a bad duration is refused with its reason and plays nothing.
r = simlib.run('''
route ^800$ conf/p4 lonely=true
at 0 call 1001 800 record=1001.wav
at 0.5 call 1002 800 record=1002.wav
at 4 message engine.command line="conf play p4 tone/milliwatt dumb/1 duration=600"
at 5 message engine.command line="conf play p4 tone/dial duration=0"
at 7 hangup all
end 8
''', module=engine)
a, b = r.wav('1001.wav'), r.wav('1002.wav')
mw = ''.join('m' if simlib.tone_ratio(a[i:i + 800], 1000) > 0.8 else '.'
             for i in range(3 * 8000, len(a) - 800, 800))
tap.ok(5 <= mw.count('m') <= 7 and '.m' in mw and 'm.' in mw,
       'conf play tone/milliwatt dumb/1 duration=600: 1001 hears about 600 ms of 1 kHz', mw)
tap.ok(best_ratio(b[3 * 8000:], 1000) < 0.2 and best_ratio(b[3 * 8000:], 425) < 0.2,
       '1002 hears neither the tone for 1001 nor the refused one',
       (best_ratio(b[3 * 8000:], 1000), best_ratio(b[3 * 8000:], 425)))
cmds = r.messages('engine.command')
bad = [m for m in cmds if 'duration=0' in m['params'].get('line', '')]
tap.ok(len(bad) == 1 and "bad duration '0'" in (bad[0]['retval'] or ''),
       'duration=0: the console answers bad duration', bad)
r.cleanup()
# 5. Languages: a prompts_dir with en/ (the shipped enter and lonely) and
#    fr/, whose lonely.wav is 2 s of 1 kHz and which has no enter.wav.  A
#    room made with lang=fr plays fr/lonely.wav to the lonely caller and,
#    for lack of a French one, en/enter.wav; a room with lang=de (no such
#    folder) plays en/lonely.wav.
lp = os.path.join(cfgdir, 'lang-prompts')
os.makedirs(os.path.join(lp, 'en'))
os.makedirs(os.path.join(lp, 'fr'))
for name in ('lonely.wav', 'enter.wav'):
    shutil.copy(os.path.join(SRC, 'conf', 'prompts', 'en', name), os.path.join(lp, 'en', name))
with wave.open(os.path.join(lp, 'fr', 'lonely.wav'), 'wb') as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(8000)
    w.writeframes(b''.join(struct.pack('<h', int(8000 * math.sin(2 * math.pi * 1000 * i / 8000)))
                           for i in range(16000)))
cfg5 = os.path.join(cfgdir, 'lang.conf')
with open(cfg5, 'w') as f:
    f.write('[conference]\nprompts_dir=%s\nrecord_dir=%s\n' % (lp, cfgdir))
r = simlib.run('''
route ^800$ conf/p5 lonely=true lang=fr
route ^801$ conf/p6 lonely=true lang=de
at 0 call 1001 800 record=1001.wav
at 0 call 1003 801 record=1003.wav
at 4 call 1002 800 record=1002.wav
at 7 hangup all
end 8
''', module=simlib.ENGINE + ['--config', cfg5])
a, c = r.wav('1001.wav'), r.wav('1003.wav')
tap.ok(r.ok and best_ratio(a[:3 * 8000], 1000) > 0.8,
       'lang=fr: the lonely caller hears fr/lonely.wav (1 kHz)',
       (r.why(), best_ratio(a[:24000], 1000)))
late_a = a[4 * 8000:]
tap.ok(best_ratio(late_a, 660) > 0.5 and best_ratio(late_a, 880) > 0.5,
       'lang=fr without fr/enter.wav: the room hears en/enter.wav',
       (best_ratio(late_a, 660), best_ratio(late_a, 880)))
tap.ok(rms(c[:3 * 8000]) > 300 and best_ratio(c[:3 * 8000], 1000) < 0.2,
       'lang=de (no de/ folder): the lonely caller hears en/lonely.wav (speech, no 1 kHz)',
       (rms(c[:24000]), best_ratio(c[:24000], 1000)))
r.cleanup()
shutil.rmtree(cfgdir, ignore_errors=True)
tap.done()
