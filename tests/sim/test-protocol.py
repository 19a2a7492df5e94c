#!/usr/bin/env python3
"""test-protocol.py - Yate's side of every protocol keyword, as yate-sim serves it (TAP).

The test is the module, over a --listen socket: installs with filters and
duplicates, uninstall, watch/unwatch, setlocal values, output, debug,
messages with and without an id, bad lines, quit.
"""
import os
import re
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402

tap = simlib.Tap()
sock = os.path.join(tempfile.mkdtemp(prefix='yate-sim-proto-'), 'ext.sock')
holder = {}


def run():
    holder['r'] = simlib.run('''
route ^1$ conf/x
route ^2$ conf/y
at 0 call 1001 1
at 0.3 call 1002 2
at 1 hangup all
end 1.5
''', args=['--listen', 'unix:' + sock, '--ready-max', '20', '--allow', 'garbage'], timeout=60)


t = threading.Thread(target=run)
t.start()
mod = simlib.Module(sock)


def ask(line):
    mod.send(line)
    got = mod.read(5)
    return got.text if got else None


tap.ok(ask('%%>install:80:call.execute:callto:conf/x') == '%%<install:80:call.execute:true',
       'install with a filter')
tap.ok(ask('%%>install:20:call.execute') == '%%<install:20:call.execute:false',
       'a second install of the same name fails, whatever its filter')
tap.ok(ask('%%>install::chan.hangup') == '%%<install:100:chan.hangup:true',
       'an empty priority means 100')
tap.ok(ask('%%>uninstall:chan.hangup') == '%%<uninstall:100:chan.hangup:true', 'uninstall')
tap.ok(ask('%%>uninstall:chan.hangup') == '%%<uninstall:0:chan.hangup:false',
       'uninstall of what is not installed')
tap.ok(ask('%%>watch:call.execute') == '%%<watch:call.execute:true', 'watch')
tap.ok(ask('%%>watch:call.execute') == '%%<watch:call.execute:false', 'a second watch fails')
tap.ok(ask('%%>watch:chan.notify') == '%%<watch:chan.notify:true' and
       ask('%%>unwatch:chan.notify') == '%%<unwatch:chan.notify:true' and
       ask('%%>unwatch:chan.notify') == '%%<unwatch:chan.notify:false', 'unwatch')
for q, a, name in (
        ('%%>setlocal:engine.version:', '%%<setlocal:engine.version:6.4.1:true', 'engine.version'),
        ('%%>setlocal:engine.nosuch:', '%%<setlocal:engine.nosuch::false', 'unknown engine.*'),
        ('%%>setlocal:engine.version:7', '%%<setlocal:engine.version:6.4.1:false',
         'engine.* is read-only'),
        ('%%>setlocal:timeout:4000', '%%<setlocal:timeout:4000:true', 'timeout'),
        ('%%>setlocal:reenter:yes', '%%<setlocal:reenter:true:true', 'reenter'),
        ('%%>setlocal:reenter:false', '%%<setlocal:reenter:false:true', 'reenter off'),
        ('%%>setlocal:loaded.regexroute:', '%%<setlocal:loaded.regexroute:true:true',
         'loaded.MODULE'),
        ('%%>setlocal:config.general.x:', '%%<setlocal:config.general.x::false', 'config.*'),
        ('%%>setlocal:bufsize:1000', '%%<setlocal:bufsize:2048:true', 'bufsize has a floor'),
        ('%%>setlocal:bufsize:100000', '%%<setlocal:bufsize:65536:true', 'bufsize has a cap'),
        ('%%>setlocal:bogus:1', '%%<setlocal:bogus:1:false', 'unknown name')):
    got = ask(q)
    tap.ok(got == a, 'setlocal ' + name, got)
# the run id is the start time, also among the run parameters (engine.runid), as in Yate
runid = ask('%%>setlocal:runid:')
tap.ok(re.match(r'^%%<setlocal:runid:[1-9][0-9]*:true$', runid or '') and
       ask('%%>setlocal:engine.runid:') == runid.replace(':runid:', ':engine.runid:'),
       'setlocal runid and engine.runid', runid)
tap.ok(ask('%%>bogus') == 'Error in: %%>bogus', 'an unknown keyword gets "Error in: "')
tap.ok(ask('%%<install:1:x:true') == 'Error in: %%<install:1:x:true',
       'a Yate-side line from the module is an error too')
mod.send('%%>output:hello there')
mod.send('%%>debug:5:a%Jb')
mod.send('%%>message::123:test.noid::k=v')
tap.ok(mod.message('test.withid', [('k', 'v')]) and
       mod.wait(lambda l: l.kind == '<message' and l.id == 't1', 5) is not None and
       not any(l.kind == '<message' and l.name == 'test.noid' for l in mod.seen),
       'a message with an id is answered; one without is not')
first = mod.wait(lambda l: l.kind == '>message' and l.name == 'call.execute', 10)
tap.ok(first is not None and first.get('callto') == 'conf/x',
       'the filtered relay gets callto=conf/x', first)
if first:
    mod.answer(first, False)
rep = mod.wait(lambda l: l.kind == '<message' and not l.id and l.name == 'call.execute' and
               l.get('callto') == 'conf/y', 10)
tap.ok(rep is not None and not any(l.kind == '>message' and l.get('callto') == 'conf/y'
                                   for l in mod.seen),
       'conf/y only shows in the watcher, never in the relay', rep)
mod.send('%%>quit')
q = mod.wait(lambda l: l.text == '%%<quit', 5)
tap.ok(q is not None, 'quit is answered with %%<quit')
mod.close()
t.join(60)
r = holder.get('r')
tap.ok(r and r.events('output', text='hello there') and r.events('debug', text='a\nb'),
       'output and debug lines are logged', r and r.why())
tap.ok(r and r.messages('test.noid', k='v') and r.messages('test.withid', k='v'),
       'messages from the module are dispatched')
tap.ok(r and r.ok, 'the run ends well (bad lines allowed here)', r and r.why())

# A line longer than Yate's buffer (8192 until setlocal bufsize) makes Yate close the module.
sock = os.path.join(tempfile.mkdtemp(prefix='yate-sim-proto-'), 'ext.sock')
holder = {}


def run2():
    holder['r'] = simlib.run('end 0.5\n', args=['--listen', 'unix:' + sock, '--ready-max', '5'],
                             timeout=60)


t = threading.Thread(target=run2)
t.start()
mod = simlib.Module(sock)
mod.send('%%>output:' + 'x' * 5000)
tap.ok(ask('%%>setlocal:bufsize:4096') == '%%<setlocal:bufsize:4096:true',
       'a 5000-byte line fits the default 8192 buffer; bufsize shrinks it')
mod.send('%%>output:' + 'y' * 5000)
gone = mod.read(5)
mod.close()
t.join(60)
r = holder.get('r')
tap.ok(gone is None and r and r.code == simlib.MODULE_PROBLEM and r.problems('overflow'),
       'a line over the buffer: the module is closed and the overflow reported',
       r and r.why())
tap.done()
