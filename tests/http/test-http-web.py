#!/usr/bin/env python3
"""test-http-web.py - the dashboard's static files served by the engine ([http] web_root), over real HTTP (TAP).

No browser (tests/http/test-http-dashboard.py drives one).  The engine runs
under yate-sim with web_root pointing at a copy of the source tree's web/
folder, to which the test adds what must not be served.  Shown:
- / and /ui/FILE answer without a token, with the right Content-Type,
  Cache-Control: no-cache, an ETag (If-None-Match: 304), nosniff and a
  Content-Security-Policy that allows only the page's own files; the bytes
  are the files'; HEAD answers without a body; POST gets 405 with
  Allow: GET, HEAD;
- nothing outside the folder is reachable: .., %2e%2e, %2F, absolute
  paths, a symbolic link that leads out, a subfolder, a hidden file, a
  type that is not served: never 200, never the outside file's bytes,
  with or without a token; a symbolic link inside the folder is served;
- the API still wants its token (/api/v1/rooms: 401); GET /api/v1/token
  says the token's name and role, as the OpenAPI document describes;
- web_root=off: no dashboard (/ wants a token); a web_root that does not
  exist or has no index.html stops --check-config and a start, naming the
  key;
- the secrets presented never appear in the engine's log (debug level),
  event stream included.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httplib  # noqa: E402
import faultlib  # noqa: E402
import simlib  # noqa: E402

tap = httplib.Tap()
if faultlib.built():
    tap.skip_all(faultlib.built())

READ, ADMIN = 'r3ad-web-secret', 'adm1n-web-secret'
TOKENS = 'token.ops = read:%s\ntoken.root = admin:%s' % (httplib.sha256(READ),
                                                          httplib.sha256(ADMIN))
WEB = os.path.join(httplib.SRCDIR, 'web')
work = tempfile.mkdtemp(prefix='ce-http-web-')
root = os.path.join(work, 'web')
shutil.copytree(WEB, root)
OUTSIDE = b'OUTSIDE-THE-WEB-ROOT-4711\n'
faultlib.write(os.path.join(work, 'outside.txt'), OUTSIDE.decode())
os.symlink(os.path.join(work, 'outside.txt'), os.path.join(root, 'leak.txt'))
os.symlink('/etc/passwd', os.path.join(root, 'passwd.txt'))
os.symlink('style.css', os.path.join(root, 'alias.css'))
faultlib.write(os.path.join(root, 'sub', 'inner.js'), OUTSIDE.decode())
faultlib.write(os.path.join(root, '.hidden.js'), OUTSIDE.decode())
faultlib.write(os.path.join(root, 'notes.md'), OUTSIDE.decode())
answers = []


def read(name):
    with open(os.path.join(WEB, name), 'rb') as f:
        return f.read()


eng = httplib.Engine('''
route ^800$ conf/main notify=conf-monitor/main
at 0 call 1001 800 play=tone:440
end 300
''', 'enabled=true\n%s\nweb_root=%s' % (TOKENS, root), extra='[log]\nlevel=debug\n')
try:
    tap.ok(eng.port, 'the engine logs the port it listens on', eng.stderr('HTTP'))
    if not eng.port:
        tap.done()
    tap.ok(eng.logged('dashboard: '), 'it logs the dashboard\'s files', eng.stderr('dashboard'))

    # the files, without a token
    types = {'/': ('index.html', 'text/html; charset=utf-8'),
             '/ui/app.js': ('app.js', 'text/javascript; charset=utf-8'),
             '/ui/style.css': ('style.css', 'text/css; charset=utf-8'),
             '/ui/icon.svg': ('icon.svg', 'image/svg+xml')}
    for path, (name, ctype) in types.items():
        st, hd, body = eng.get(path)
        tap.ok(st == 200 and hd.get('content-type') == ctype and body == read(name),
               '%s: 200 %s, the bytes of web/%s, no token needed' % (path, ctype, name),
               (st, hd.get('content-type'), len(body)))
        tap.ok(hd.get('cache-control') == 'no-cache' and hd.get('etag') and
               hd.get('x-content-type-options') == 'nosniff',
               '%s: Cache-Control no-cache, an ETag, nosniff' % path, hd)
    st, hd, body = eng.get('/')
    csp = hd.get('content-security-policy', '')
    tap.ok("script-src 'self'" in csp and "default-src 'none'" in csp and
           "frame-ancestors 'none'" in csp, 'the page may run only its own scripts', csp)
    st2, hd2, body2 = eng.get('/', headers={'If-None-Match': hd.get('etag', 'x')})
    tap.ok(st2 == 304 and not body2, 'If-None-Match with its ETag: 304, no body', (st2, body2))
    st, hd, body = eng.get('/ui/alias.css')
    tap.ok(st == 200 and body == read('style.css'),
           'a symbolic link that stays inside the folder is served', st)
    st, hd, body = eng.request('HEAD', '/ui/app.js')
    tap.ok(st == 200 and not body and hd.get('content-type', '').startswith('text/javascript'),
           'HEAD: 200, the headers and no body', (st, len(body)))
    st, hd, body = eng.request('POST', '/', body=b'{}', headers={'Content-Type': 'text/plain'})
    tap.ok(st == 405 and hd.get('allow') == 'GET, HEAD', 'POST /: 405, Allow: GET, HEAD',
           (st, hd.get('allow')))

    # nothing outside the folder
    bad = ['/ui/../conf-engine.conf', '/ui/%2e%2e/conf-engine.conf',
           '/ui/%2e%2e%2fconf-engine.conf', '/ui/..%2Foutside.txt', '/ui/%2E%2E/outside.txt',
           '/ui//etc/passwd', '/ui/%2Fetc%2Fpasswd', '//etc/passwd', '/ui/leak.txt',
           '/ui/passwd.txt', '/ui/sub/inner.js', '/ui/sub%2Finner.js', '/ui/.hidden.js',
           '/ui/notes.md', '/ui/', '/ui/%00', '/index.html/../../outside.txt',
           '/ui/' + root + '/app.js']
    for token in (None, ADMIN):
        got = []
        for path in bad:
            st, hd, body = eng.get(path, token)
            if st == 200 or b'OUTSIDE' in body or b'root:' in body or b'token.' in body:
                got.append((path, st, body[:40]))
        tap.ok(not got, 'outside the folder, %s: never 200, never the bytes (%d paths)' % (
            'with an admin token' if token else 'without a token', len(bad)), got)
    tap.ok(any('leak.txt' in t and 'left out' in t for t in eng.stderr('dashboard')),
           'the link that leads out is left out, and logged', eng.stderr('dashboard'))

    # the API keeps its tokens; /api/v1/token says which one
    st, hd, body = eng.get('/api/v1/rooms')
    answers.append(('/api/v1/rooms', 'GET', st, hd, body))
    tap.ok(st == 401, '/api/v1/rooms without a token: still 401', st)
    for secret, name, role in ((READ, 'ops', 'read'), (ADMIN, 'root', 'admin')):
        st, hd, body = eng.get('/api/v1/token', secret)
        answers.append(('/api/v1/token', 'GET', st, hd, body))
        tap.ok(st == 200 and json.loads(body) == {'name': name, 'role': role},
               'GET /api/v1/token: {"name":"%s","role":"%s"}' % (name, role), (st, body))
    st, hd, body = eng.get('/api/v1/token', 'wr0ng-web-secret')
    answers.append(('/api/v1/token', 'GET', st, hd, body))
    tap.ok(st == 401, 'GET /api/v1/token with a wrong secret: 401', st)

    # the secrets never reach the log, whatever the client did
    ev = httplib.Events(eng, READ)
    ev.until(lambda e: e['data'].get('event') == 'enter')
    ev.close()
    eng.logged('event client', lambda t: 'closed' in t or 'since' in t, timeout=2)
    leaked = [t for t in eng.stderr('') if READ in t or ADMIN in t or 'wr0ng-web-secret' in t]
    tap.ok(not leaked and eng.stderr('token ops'),
           'no secret in the engine\'s log (debug level; token names only)', leaked)
    st, hd, body = eng.get('/api/v1/openapi.json', READ)
    miss = httplib.openapi_misses(json.loads(body), answers)
    tap.ok(not miss, 'every API answer (%d) is one the document describes' % len(answers), miss)
    httplib.ends_well(tap, eng)
finally:
    eng.close()

# web_root=off: no dashboard, / is an API path like any other
eng = httplib.Engine('route ^800$ conf/main\nend 300\n',
                     'enabled=true\n%s\nweb_root=off' % TOKENS)
try:
    st, hd, body = eng.get('/')
    tap.ok(st == 401, 'web_root=off: / wants a token (no dashboard)', st)
    st, hd, body = eng.get('/ui/app.js', ADMIN)
    tap.ok(st == 404, 'web_root=off: /ui/app.js 404', st)
    httplib.ends_well(tap, eng)
finally:
    eng.close()

# a web_root that cannot serve is refused, naming the key
os.remove(os.path.join(root, 'index.html'))
for value, why in ((os.path.join(work, 'nosuch'), 'does not exist'),
                   (root, 'has no index.html')):
    path = os.path.join(work, 'check.conf')
    faultlib.write(path, '[http]\nenabled=true\nport=0\nweb_root=%s\n' % value)
    p = subprocess.run(simlib.ENGINE + ['--check-config', '--config', path],
                       capture_output=True, text=True, timeout=httplib.WAIT)
    tap.ok(p.returncode != 0 and 'web_root' in p.stderr,
           'web_root that %s: --check-config fails naming web_root' % why,
           (p.returncode, p.stderr[-300:]))
    p = subprocess.run(simlib.ENGINE + ['--config', path], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=httplib.WAIT)
    tap.ok(p.returncode != 0 and 'web_root' in p.stderr,
           'web_root that %s: the start fails naming web_root' % why,
           (p.returncode, p.stderr[-300:]))
shutil.rmtree(work, ignore_errors=True)
tap.done()
