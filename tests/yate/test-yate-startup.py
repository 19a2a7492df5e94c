#!/usr/bin/env python3
"""test-yate-startup.py - real Yate starts conf-engine exactly as an operator's extmodule.conf says (TAP).

Yate runs a [scripts] entry PATH=VALUE as execl(PATH, PATH, VALUE): one
argument, the whole value, empty when there is none.  Shown here on a real
Yate 6.4.1:
  1. `conf-engine=` (empty value): the engine attaches and answers the console;
  2. `conf-engine=--config FILE`: the file is read (its dialplan routes 901);
  3. a value with a quoted path holding spaces;
  4. `kill -9` of the engine: Yate restarts it (the engine asked with
     setlocal restart=true) and the new one serves calls.
"""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yatelib  # noqa: E402

tap = yatelib.Checked()
prefix = yatelib.require(tap)


def routes_via_config(y, d, number, room):
    """A call to @number (routed only by the engine's own dialplan) lands in conf/@room."""
    chan, ans = d.call(number, caller='2001')
    if not chan:
        return False, 'call.execute was refused: %r' % ans
    ok = yatelib.wait_for(lambda: d.reports_of('chan.notify', event='joined', room=room)
                          or ('conf/%s' % room) in y.rm('conf list'), timeout=yatelib.WAIT)
    d.drop(chan)
    return bool(ok), y.rm('conf list')


def dialplan(y, rule):
    with open(y.path('dialplan.conf'), 'w') as f:
        f.write('[default]\n%s\n' % rule)


# 1. the empty value
with yatelib.Yate(prefix, 'startup-empty', engine='') as y:
    tap.yate = y
    tap.ok(y.wait_engine(), 'conf-engine= (empty value): the engine attaches to Yate', y.log_tail())
    tap.ok('unexpected argument' not in y.log_text(), 'no complaint about the empty argument',
           y.log_tail())

# 2. --config FILE: the engine's own dialplan routes 901, which Yate's regexroute does not know
with yatelib.Yate(prefix, 'startup-config', engine='--config {conf}') as y:
    tap.yate = y
    dialplan(y, '^901$=conf/cfgroom')
    tap.ok(y.wait_engine(), 'conf-engine=--config FILE: the engine attaches', y.log_tail())
    d = y.driver()
    d.watch('chan.notify')
    y.rm('conf reload dialplan')
    ok, why = routes_via_config(y, d, '901', 'cfgroom')
    tap.ok(ok, 'the configuration named in the value is read (its dialplan routes 901)', why)

# 3. a quoted path with spaces
spaced = yatelib.Yate(prefix, 'startup-spaces', engine='--config "{dir}/my conf/engine.conf"')
os.mkdir(spaced.path('my conf'))
with open(spaced.path('my conf/engine.conf'), 'w') as f:
    f.write(spaced.default_engine_conf())
with spaced as y:
    tap.yate = y
    dialplan(y, '^902$=conf/spaceroom')
    tap.ok(y.wait_engine(), 'a value with a quoted path holding spaces: the engine attaches',
           y.log_tail())
    d = y.driver()
    d.watch('chan.notify')
    y.rm('conf reload dialplan')
    ok, why = routes_via_config(y, d, '902', 'spaceroom')
    tap.ok(ok, 'the quoted configuration path is the one read', why)

# 4. kill -9: Yate restarts the engine, which serves calls again
with yatelib.Yate(prefix, 'startup-restart', engine='--config {conf}',
                  routes=[r'^800$=conf/again']) as y:
    tap.yate = y
    tap.ok(y.wait_engine(), 'engine attached before the crash', y.log_tail())
    pids = y.engine_pids()
    tap.ok(len(pids) == 1, 'one conf-engine process under Yate', pids)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    new = yatelib.wait_for(lambda: [p for p in y.engine_pids() if p not in pids], timeout=30)
    tap.ok(bool(new), 'after kill -9 Yate starts a new conf-engine (setlocal restart=true)',
           y.log_tail())
    tap.ok(y.wait_engine(), 'the restarted engine answers the console', y.log_tail())
    d = y.driver()
    d.watch('chan.notify')
    chan, ans = d.call('800', caller='2002')
    room_seen = chan and yatelib.wait_for(lambda: 'conf/again' in y.rm('conf list'))
    tap.ok(bool(room_seen), 'the restarted engine takes a call into conf/again',
           '%r\n%s' % (ans, y.log_tail()))
    if chan:
        d.drop(chan)

tap.done()
