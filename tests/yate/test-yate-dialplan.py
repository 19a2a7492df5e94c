#!/usr/bin/env python3
"""test-yate-dialplan.py - the engine's dialplan matches and captures as Yate's own regexroute (TAP).

The same rules go into Yate's regexroute.conf and the engine's
dialplan.conf, each case in a context of its own (yN for Yate, eN for the
engine, so neither answers for the other: the engine's call.route at 90
routes nothing in yN, Yate's regexroute at 100 has no eN).  Every number
is routed through both with a call.route from the test's script; the
answers (handled, return value, the parameter x=\\1) must be identical.
Targets carry \\0-\\3, \\8 and \\9, so the captures are compared, not only
whether a rule matched.  Two runs: basic syntax, then extended=yes with
insensitive=yes.

Not compared, because the engine differs on purpose (docs/dialplan.md):
back-references and values over 1024 bytes.  One difference is shown
instead: an inverted rule (`...^`) whose regex does not compile applies to
every number in Yate (its match always "fails"); the engine skips it.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yatelib  # noqa: E402

tap = yatelib.Checked()
prefix = yatelib.require(tap)

TARGET = r'hit:[\0][\1][\2][\3][\8][\9];x=\1'

# (left side of the rule, numbers routed, caller); a list of left sides makes a context of rules
BASIC = [
    (r'^800$', ['800', '8001', '0800'], None),
    (r'^8\(..\)$', ['812', '81', '8123'], None),
    (r'^9\(.\)\(.\)$', ['912', '91'], None),
    (r'^7\(x\)\?$', ['7', '7x', '7xx'], None),
    (r'^\(a\)\?\(b\)$', ['b', 'ab'], None),
    (r'^\(.\)\(.\)\(.\)\(.\)\(.\)\(.\)\(.\)\(.\)\(.\)$', ['123456789', '12345678'], None),
    (r'2\(3*\)', ['1233345', '2', '13'], None),
    (r'\(a\|ab\)\(c\|bcd\)', ['abcd', 'xabcx'], None),
    (r'^\(0\|00\)\(.*\)$', ['0044', '044'], None),
    (r'^a+$', ['a+', 'aa'], None),
    (r'^a\+$', ['aaa', 'a+'], None),
    (r'^(1)$', ['(1)', '1'], None),
    (r'^\(1\|2\)$', ['2', '3'], None),
    (r'^1|2$', ['1|2', '1'], None),
    (r'^[0-9]\{3\}$', ['123', '12'], None),
    (r'^[0-9]{3}$', ['5{3}', '555'], None),
    (r'^10\.0\.1\.2:', ['10.0.1.2:5060', '1000122:'], None),
    (r'^1.3$', ['1x3', '13'], None),
    (r'*1', ['a*1', 'a1'], None),
    (r'^a$b$', ['a$b', 'a'], None),
    (r'^sip/', ['sip/123', 'xsip/1'], None),
    (r'123$', ['0123', '1234'], None),
    (r'^conf/', ['CONF/1', 'conf/1'], None),
    (r'^[[:digit:]]*$', ['0123', '01a'], None),
    (r'^[^0]', ['0123', '123'], None),
    (r'^[]a]*$', [']a]', 'b'], None),
    (r'^[a\]*$', ['a\\', 'b'], None),
    (r'^[[:alpha:]_-]*$', ['a_b-c', 'a b'], None),
    (r'${caller}^tone/', ['1'], 'tone/dial'),
    (r'${caller}^tone/', ['1'], 'sip/1'),
    (r'${caller$none}^\(n\)one$', ['1'], None),
    (r'^5^', ['5', '6'], None),
    # a rule whose regex does not compile never matches in Yate: the next one does
    ([r'\(1', r'.*'], ['1', '(1'], None),
    ([r'^\(1^', r'^1'], ['1'], None),  # ON_PURPOSE
]
ON_PURPOSE = len(BASIC) - 1
EXTENDED = [
    (r'^a+$', ['aa', 'a+'], None),
    (r'^a\+$', ['a+', 'aa'], None),
    (r'^(1|2)$', ['2', '3'], None),
    (r'^\(1\)$', ['(1)', '1'], None),
    (r'^[0-9]{3}$', ['123', '5{3}'], None),
    (r'^(ab|cd)+$', ['abcd', 'ABcd', 'abc'], None),
    (r'^(a)?(b)$', ['b', 'Ab'], None),
    (r'^conf/(.*)$', ['CONF/x', 'Conf/Y'], None),
    (r'^10\.0', ['10.0', '1000'], None),
    (r'(a|ab)(c|bcd)', ['abcd'], None),
    ([r'(1', r'^.*$'], ['1'], None),
]


def conf_text(cases, prefix_letter, options):
    """The rules of @cases, one context each (y0, y1, ... or e0, e1, ...)."""
    out = ['[priorities]'] + options
    for i, (left, _, _) in enumerate(cases):
        out.append('[%s%d]' % (prefix_letter, i))
        for rule in (left if isinstance(left, list) else [left]):
            out.append('%s=%s' % (rule, TARGET))
    return out


def answer(d, context, number, caller):
    params = {'called': number, 'context': context}
    if caller:
        params['caller'] = caller
    a = d.request('call.route', params)
    if a is None:
        return 'no answer'
    return (a.handled, a.retval if a.handled else '', a.get('x'))


def compare(name, cases, options):
    yate_conf = conf_text(cases, 'y', options)
    y = yatelib.Yate(prefix, name, engine='--config {conf}')
    # written before start: yatelib's regexroute.conf would begin with [default]
    with open(os.path.join(y.confdir, 'regexroute.conf'), 'w') as f:
        f.write('\n'.join(yate_conf) + '\n')
    with open(y.path('dialplan.conf'), 'w') as f:
        f.write('\n'.join(conf_text(cases, 'e', options)) + '\n')
    with y:
        tap.yate = y
        tap.ok(y.wait_engine(), '%s: the engine attaches with the dialplan' % name, y.log_tail())
        d = y.driver()
        diffs, n, hits = [], 0, 0
        for i, (left, numbers, caller) in enumerate(cases):
            for num in numbers:
                ya = answer(d, 'y%d' % i, num, caller)
                ea = answer(d, 'e%d' % i, num, caller)
                if cases is BASIC and i == ON_PURPOSE:
                    tap.ok(ya == (True, 'hit:[][][][][][]', '') and
                           ea == (True, 'hit:[1][1][][][][]', '1'),
                           'a broken inverted rule: Yate applies it, the engine skips it',
                           'Yate %r, engine %r' % (ya, ea))
                    continue
                n += 1
                hits += ya[0] is True
                if ya != ea:
                    diffs.append('%s on %r (caller %s): Yate %r, engine %r'
                                 % (left, num, caller, ya, ea))
        tap.ok(not diffs, '%s: %d numbers through %d rules, Yate and the engine answer the same'
               % (name, n, len(cases)), '\n'.join(diffs))
        tap.ok(0 < hits < n, '%s: some numbers route and some do not (%d of %d)'
               % (name, hits, n))
        tap.ok(' bad regular expression \'' in y.log_text() and ', rule skipped' in y.log_text(),
               '%s: the engine names the rules it skipped' % name, y.log_tail())


compare('dialplan-basic', BASIC, [])
compare('dialplan-extended', EXTENDED, ['extended=yes', 'insensitive=yes'])
tap.done()
