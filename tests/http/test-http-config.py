#!/usr/bin/env python3
"""test-http-config.py - the [http] section: refused settings, off by default, HTTPS, a failing health.

Prints TAP.  Shown:
- a broken [http] is refused before anything starts, by --check-config
  and by a start, with a message that names the key: a port out of range,
  a role that is neither read nor admin, a hash that is not 64 hex digits,
  a listen value that is not an IP address, a certificate without its key,
  a certificate file that cannot be read; a port another program holds
  stops the start (exit 1);
- without enabled=true nothing listens, even with a port configured;
- with tls_cert/tls_key (a self-signed certificate made here by openssl)
  the API speaks HTTPS: a client that trusts that certificate gets
  /healthz and, with its token, /api/v1/rooms; plain HTTP gets no answer;
- /healthz says 503 with "yate":"down" once the Yate the engine is
  connected to (--connect, the simulator's listener) goes away, while
  the engine stays up and the API answers;
- /healthz says 503 "failing" with store "failed" while the database is
  unreachable (a PostgreSQL address where nothing listens), and the
  answer is still one the OpenAPI document describes.
"""
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httplib  # noqa: E402
import faultlib  # noqa: E402
import simlib  # noqa: E402

tap = httplib.Tap()
if faultlib.built():
    tap.skip_all(faultlib.built())

work = tempfile.mkdtemp(prefix='ce-http-config-')
SECRET = 'c0nfig-secret'
GOOD = 'read:' + httplib.sha256(SECRET)
SCENARIO = '''
route ^800$ conf/main lonely=true
at 0 call 1001 800 play=silence
end 300
'''


def check_config(text):
    """(exit code, stderr) of conf-engine --check-config on [http] @text."""
    path = os.path.join(work, 'check.conf')
    faultlib.write(path, '[http]\n' + text + '\n')
    p = subprocess.run(simlib.ENGINE + ['--check-config', '--config', path],
                       capture_output=True, text=True, timeout=httplib.WAIT)
    return p.returncode, p.stderr


def start_refused(text):
    """(exit code, stderr) of a start on [http] @text (port=0 unless it says), input closed."""
    path = os.path.join(work, 'start.conf')
    faultlib.write(path, '[http]\nenabled=true\n' + text + ('' if 'port=' in text else '\nport=0')
                   + '\n')
    p = subprocess.run(simlib.ENGINE + ['--config', path], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=httplib.WAIT)
    return p.returncode, p.stderr


try:
    # refused settings
    cases = [
        ('port=70000', 'port', 'outside 0..65535'),
        ('token.ops = root:' + httplib.sha256('x'), 'token.ops', 'unknown role'),
        ('token.ops = read:abc123', 'token.ops', '64 hex digits'),
        ('token.ops = read:' + 'g' * 64, 'token.ops', '64 hex digits'),
        ('token.ops = ' + httplib.sha256('x'), 'token.ops', 'ROLE:SHA256'),
        ('listen=localhost:80', 'listen', 'not an IP address'),
        ('tls_cert=%s/none.pem' % work, 'tls_cert', 'tls_key'),
        ('tls_cert=%s/none.pem\ntls_key=%s/none.key' % (work, work), 'tls_cert', 'none.pem'),
    ]
    for text, key, what in cases:
        code, err = check_config(text)
        tap.ok(code == 2 and key in err and what in err,
               '--check-config refuses %r naming %s' % (text, key), (code, err))
    code, err = start_refused('token.ops = admin:123')
    tap.ok(code == 2 and 'token.ops' in err, 'a start refuses a bad token too', (code, err))
    code, err = check_config('enabled=true\nport=0\ntoken.a = read:%s\ntoken.b = admin:%s'
                             % (httplib.sha256('a'), httplib.sha256('b')))
    tap.ok(code == 0, 'both roles are accepted', (code, err))

    # a port another program holds
    holder = socket.socket()
    holder.bind(('127.0.0.1', 0))
    holder.listen()
    code, err = start_refused('port=%d' % holder.getsockname()[1])
    holder.close()
    tap.ok(code == 1 and 'Address already in use' in err and 'module http failed to start' in err,
           'a port already taken stops the start (exit 1), saying so', (code, err))

    # off by default
    port = httplib.free_port()
    eng = httplib.Engine(SCENARIO, 'token.ops = ' + GOOD, port=port)
    try:
        tap.ok(eng.port is None and eng.sim.p.poll() is None and not eng.stderr('HTTP API'),
               'without enabled=true the engine runs and logs no HTTP address', eng.stderr('http'))
        try:
            socket.create_connection(('127.0.0.1', port), timeout=5).close()
            refused = False
        except OSError:
            refused = True
        tap.ok(refused, 'and nothing listens on the configured port %d' % port)
    finally:
        eng.close()

    # HTTPS with a self-signed certificate
    cert, key = os.path.join(work, 'http.crt'), os.path.join(work, 'http.key')
    p = subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
                        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
                        '-keyout', key, '-out', cert], capture_output=True, text=True,
                       timeout=httplib.WAIT)
    if p.returncode:
        tap.ok(False, 'openssl makes a self-signed certificate', p.stderr)
    else:
        eng = httplib.Engine(SCENARIO, 'enabled=true\ntoken.ops = %s\ntls_cert=%s\ntls_key=%s'
                             % (GOOD, cert, key), tls=cert)
        try:
            tap.ok(eng.port and eng.stderr('listening on https://'),
                   'with a certificate the engine listens on https://', eng.stderr('HTTP'))
            st, hd, body = eng.get('/healthz')
            tap.ok(st == 200 and json.loads(body)['status'] == 'ok',
                   '/healthz over HTTPS, the certificate verified', (st, body))
            st, doc = eng.wait(lambda s, d: s == 200 and d['rooms'], '/api/v1/rooms', SECRET)
            tap.ok(st == 200 and doc['rooms'][0]['name'] == 'main',
                   '/api/v1/rooms over HTTPS with the token', doc)
            c = http.client.HTTPConnection('127.0.0.1', eng.port, timeout=10)
            try:
                c.request('GET', '/healthz')
                plain = c.getresponse().status
            except (OSError, http.client.HTTPException):
                plain = None
            finally:
                c.close()
            tap.ok(plain is None, 'plain HTTP on the HTTPS port gets no answer', plain)
            how = eng.stop()
            tap.ok(how == 'exited with status 0', 'the HTTPS engine stops cleanly', how)
        finally:
            eng.close()

    # a store that cannot be reached: /healthz 503
    eng = httplib.Engine(SCENARIO, 'enabled=true\ntoken.ops = ' + GOOD,
                         extra=httplib.away_store(work))
    try:
        st, hd, body = eng.get('/healthz') if eng.port else (None, {}, b'{}')
        h = json.loads(body)
        tap.ok(st == 503 and h.get('status') == 'failing' and h.get('store') == 'failed' and
               h.get('yate') == 'up', '/healthz: 503, store failed, while the database is away',
               (st, h, eng.stderr('store')))
        doc = json.loads(eng.get('/api/v1/openapi.json', SECRET)[2])
        why = httplib.check_openapi(doc, '/healthz', 'GET', st, hd, body)
        tap.ok(not why, 'the 503 is one the OpenAPI document describes', why)
        how = eng.stop()
        tap.ok(how == 'exited with status 0', 'that engine stops cleanly too', how)
    finally:
        eng.close()

    # Yate goes away (--connect mode): /healthz 503 with the link down, the API still answers
    sock = os.path.join(work, 'yate.sock')
    conf = os.path.join(work, 'connect.conf')
    faultlib.write(conf, '[http]\nenabled=true\nport=0\ntoken.ops = %s\n'
                         '[general]\nreconnect_min=100\nreconnect_max=200\n' % GOOD)
    os.makedirs(os.path.join(work, 'sim'))
    sim, _ = simlib.spawn('end 300\n', args=['--listen', 'unix:' + sock, '--ready-max', '2'],
                          workdir=os.path.join(work, 'sim'))
    errpath = os.path.join(work, 'connect.stderr')
    with open(errpath, 'wb') as errf:
        end = time.monotonic() + httplib.WAIT
        while not os.path.exists(sock) and time.monotonic() < end:
            time.sleep(0.05)
        engine = subprocess.Popen(simlib.ENGINE + ['--config', conf, '--connect', 'unix:' + sock],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf)
    try:
        class Connected(httplib.Engine):
            def __init__(self):  # the engine above, found through its log
                self.tls, self.port = None, None
                end = time.monotonic() + httplib.WAIT
                while self.port is None and time.monotonic() < end:
                    with open(errpath, encoding='utf-8', errors='replace') as f:
                        m = re.search(r'listening on http://[^/]*:(\d+)/', f.read())
                    self.port = m and int(m.group(1))
                    time.sleep(0.05)
        eng = Connected()
        st, h = eng.wait(lambda s, d: s == 200, '/healthz', None)
        tap.ok(st == 200 and h['yate'] == 'up', 'connected to the simulator: /healthz 200', h)
        sim.kill()
        sim.wait()
        st, h = eng.wait(lambda s, d: s == 503, '/healthz', None)
        tap.ok(st == 503 and h['yate'] == 'down' and h['status'] == 'failing',
               'Yate gone: /healthz 503 with the link down', h)
        st = eng.get('/api/v1/rooms', SECRET)[0]
        tap.ok(st == 200 and engine.poll() is None,
               'the engine stays up and its API answers meanwhile', st)
        engine.terminate()
        code = engine.wait(timeout=httplib.WAIT)
        tap.ok(code == 0, 'and it stops cleanly on SIGTERM', code)
    finally:
        for p in (sim, engine):
            if p.poll() is None:
                p.kill()
                p.wait()
finally:
    shutil.rmtree(work, ignore_errors=True)
tap.done()
