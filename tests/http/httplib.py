"""httplib.py - what the HTTP API tests share: the engine with [http] under yate-sim, requests over
real loopback HTTP(S), a Prometheus text parser and a check of answers against the OpenAPI document.

Standard library only; builds on tests/faults/faultlib.py (a simulator run
acted on while it goes on).  Every wait is bounded.

    import httplib
    eng = httplib.Engine(SCENARIO, http='token.ops = read:' + httplib.sha256('s3cret'))
    st, hdrs, body = eng.get('/api/v1/rooms', token='s3cret')
    httplib.check_openapi(doc, '/api/v1/rooms', 'GET', st, hdrs, body)   # None or why not
"""
import hashlib
import shutil
import signal
import tempfile
import http.client
import json
import os
import re
import socket
import ssl
import sys
import time

SRCDIR = os.environ.get('CE_SRCDIR') or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRCDIR, 'tests', 'faults'))
sys.path.insert(0, os.path.join(SRCDIR, 'tests', 'sim'))
import faultlib  # noqa: E402
import simlib  # noqa: E402

Tap = faultlib.Tap
WAIT = faultlib.WAIT


# The secrets of the two tokens most tests use: "ops" reads, "root" is an admin.
READ, ADMIN = 'r3ad-secret', 'adm1n-secret'


def sha256(secret):
    """The hex SHA-256 of @secret, as [http] token.NAME holds it."""
    return hashlib.sha256(secret.encode()).hexdigest()


def engine_tap():
    """A Tap that skips the whole test when conf-engine or yate-sim is not built."""
    tap = Tap()
    if faultlib.built():
        tap.skip_all(faultlib.built())
    return tap


def http_conf(*lines):
    """An [http] section's body: enabled, token "ops" reading with READ, "root" an admin with
    ADMIN, then @lines ('timeout=3', ...)."""
    return '\n'.join(('enabled=true', 'token.ops = read:' + sha256(READ),
                      'token.root = admin:' + sha256(ADMIN)) + lines)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def away_store(work):
    """A [store] section whose PostgreSQL server is never there (a free port): the engine
    starts with the store down; its spool goes under @work."""
    return ('[store]\nbackend=postgresql\nconnect_timeout_ms=100\n'
            'spool_dir=%s/spool\npg_conninfo=host=127.0.0.1 port=%d '
            'dbname=none connect_timeout=1\n' % (work, free_port()))


class Engine:
    """conf-engine with an [http] section (@http: its lines) under yate-sim running @scenario."""

    def __init__(self, scenario, http, tls=None, extra='', port=0):
        self.work = tempfile.mkdtemp(prefix='ce-http-')
        self.conf = os.path.join(self.work, 'conf-engine.conf')
        faultlib.write(self.conf, '[conference]\nenter_prompt=\nleave_prompt=\nlonely_prompt=\n'
                                  '[http]\nport=%d\n%s\n%s\n' % (port, http, extra))
        self.tls = tls
        os.makedirs(os.path.join(self.work, 'sim'))
        self.sim = faultlib.Sim(scenario, conf=self.conf, workdir=os.path.join(self.work, 'sim'))
        self.port = self._port()

    def _port(self):
        """The port the engine logged ('HTTP API listening on http://127.0.0.1:PORT/'), or
        None when it started without listening (or did not start)."""
        end = time.monotonic() + WAIT
        while time.monotonic() < end and self.sim.p.poll() is None:
            for e in self.sim.events('stderr'):
                m = re.search(r'HTTP API listening on https?://[^/]*:(\d+)/', e.get('text', ''))
                if m:
                    return int(m.group(1))
                if 'conf-engine' in e.get('text', '') and 'starting' in e.get('text', ''):
                    return None  # started, and the module logged no address before that
            time.sleep(0.05)
        return None

    def json_request(self, answers, method, path, token, body=None, **kw):
        """(status, the answer's JSON or None) of request(); (path, method, status, headers,
        body) appended to @answers, for openapi_misses()."""
        st, hd, b = self.request(method, path, token, body=body, **kw)
        answers.append((path, method, st, hd, b))
        try:
            return st, json.loads(b)
        except ValueError:
            return st, None

    def request(self, method, path, token=None, body=None, headers=None, source='127.0.0.1',
                encode_chunked=False):
        """(status, headers as a dict with lower-case names, body bytes) of one request."""
        h = dict(headers or {})
        if token is not None:
            h['Authorization'] = 'Bearer ' + token
        if self.tls:
            ctx = ssl.create_default_context(cafile=self.tls)
            c = http.client.HTTPSConnection('127.0.0.1', self.port, timeout=WAIT,
                                            source_address=(source, 0), context=ctx)
        else:
            c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=WAIT,
                                           source_address=(source, 0))
        try:
            c.request(method, path, body=body, headers=h, encode_chunked=encode_chunked)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def get(self, path, token=None, **kw):
        return self.request('GET', path, token, **kw)

    def wait(self, pred, path, token, timeout=WAIT):
        """GET @path until pred(status, json) holds; the last (status, json), bounded."""
        end = time.monotonic() + timeout
        while True:
            st, _, body = self.get(path, token)
            try:
                doc = json.loads(body)
            except ValueError:
                doc = None
            if pred(st, doc) or time.monotonic() > end:
                return st, doc
            time.sleep(0.1)

    def recordings(self, *who, timeout=WAIT):
        """Stop the simulator (its phones hang up and close their recordings) and read what
        each of @who recorded (WHO.wav): {who: samples}, [] for one with no file."""
        self.sim.p.send_signal(signal.SIGTERM)
        self.sim.finish(timeout=timeout)
        heard = {}
        for w in who:
            path = os.path.join(self.sim.workdir, w + '.wav')
            heard[w] = simlib.read_wav(path)[1] if os.path.exists(path) else []
        return heard

    def stderr(self, text):
        return [e.get('text', '') for e in self.sim.events('stderr') if text in e.get('text', '')]

    def logged(self, text, pred=lambda t: True, timeout=WAIT):
        """The engine's stderr lines holding @text, once one of them satisfies @pred (bounded):
        the simulator reads stderr on its own, so a line can arrive after the HTTP answer."""
        end = time.monotonic() + timeout
        while True:
            lines = self.stderr(text)
            if any(pred(t) for t in lines) or time.monotonic() > end:
                return lines
            time.sleep(0.05)

    def stop(self):
        """SIGTERM to the engine; how it ended ('exited with status 0' when cleanly, with no
        sanitizer report), or None if it did not within the bound."""
        pid = self.sim.engine_pid()
        if pid:
            os.kill(pid, signal.SIGTERM)
        e = self.sim.wait('engine-exit')
        return e and e.get('how')

    def close(self):
        self.sim.cleanup()
        shutil.rmtree(self.work, ignore_errors=True)


class Events:
    """A client of /api/v1/events: the stream opened with @token (@last: Last-Event-ID)."""

    def __init__(self, eng, token, path='/api/v1/events', last=None):
        self.c = http.client.HTTPConnection('127.0.0.1', eng.port, timeout=WAIT)
        h = {'Authorization': 'Bearer ' + token}
        if last is not None:
            h['Last-Event-ID'] = str(last)
        self.c.request('GET', path, headers=h)
        self.sock = self.c.sock  # the response keeps it (Connection: close), the client not
        self.r = self.c.getresponse()
        self.status = self.r.status
        self.headers = {k.lower(): v for k, v in self.r.getheaders()}
        self.body = self.r.read() if self.status != 200 else None

    def next(self, timeout=WAIT):
        """The next event as {'id', 'event', 'data'} (data parsed as JSON), comments and retry
        skipped; None when the stream ended or nothing came within @timeout."""
        ev = {}
        self.sock.settimeout(timeout)
        try:
            while True:
                line = self.r.readline()
                if not line:
                    return None
                line = line.decode().rstrip('\n')
                if not line:
                    if 'data' in ev:
                        return ev
                    ev = {}
                    continue
                field, _, value = line.partition(':')
                value = value[1:] if value.startswith(' ') else value
                if field == 'id':
                    ev['id'] = int(value)
                elif field == 'event':
                    ev['event'] = value
                elif field == 'data':
                    ev['data'] = json.loads(value)
        except (OSError, ValueError, http.client.HTTPException):
            return None

    def until(self, pred, timeout=WAIT):
        """The events read until one satisfies @pred (included), bounded by @timeout."""
        got, end = [], time.monotonic() + timeout
        while time.monotonic() < end:
            ev = self.next(max(0.05, end - time.monotonic()))
            if ev is None:
                break
            got.append(ev)
            if pred(ev):
                break
        return got

    def close(self):
        self.r.close()
        self.sock.close()


# ---- Prometheus text format 0.0.4 ----------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$')
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')
TYPES = ('counter', 'gauge', 'histogram', 'summary', 'untyped')


def unescape_label(v):
    return re.sub(r'\\(.)', lambda m: '\n' if m.group(1) == 'n' else m.group(1), v)


def parse_prometheus(text):
    """[(name, {label: value}, float)] of @text; raises ValueError on any line that is not
    the exposition format (a comment, # HELP, # TYPE with a known type, a sample)."""
    out, typed = [], {}
    if text and not text.endswith('\n'):
        raise ValueError('the last line has no line feed')
    for n, line in enumerate(text.split('\n')[:-1], 1):
        if not line.strip():
            continue
        if line.startswith('#'):
            parts = line.split(None, 3)
            if len(parts) >= 2 and parts[1] == 'TYPE':
                if len(parts) != 4 or parts[3] not in TYPES:
                    raise ValueError('line %d: bad TYPE: %r' % (n, line))
                if parts[2] in typed:
                    raise ValueError('line %d: second TYPE of %s' % (n, parts[2]))
                typed[parts[2]] = parts[3]
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError('line %d: not a sample: %r' % (n, line))
        labels, rest = {}, m.group(3) or ''
        while rest:
            lm = LABEL.match(rest)
            if not lm:
                raise ValueError('line %d: bad labels: %r' % (n, m.group(3)))
            labels[lm.group(1)] = unescape_label(lm.group(2))
            rest = rest[lm.end():]
        out.append((m.group(1), labels, float(m.group(4))))
    return out


# ---- the OpenAPI document ------------------------------------------------------

def resolve(doc, node):
    """@node with its $ref followed (within @doc), repeatedly."""
    while isinstance(node, dict) and '$ref' in node:
        target = doc
        for part in node['$ref'].lstrip('#/').split('/'):
            target = target[part]
        node = target
    return node


def match_path(doc, path):
    """The path template of @doc that @path (no query) matches, or None."""
    for tpl in doc['paths']:
        rx = '^' + re.sub(r'\\\{[^}]+\\\}', '[^/]+', re.escape(tpl)) + '$'
        if re.match(rx, path):
            return tpl
    return None


# What any method but GET gets (before or after its body would be read).
REFUSALS = (401, 405, 411, 413, 429)


def check_openapi(doc, path, method, status, headers, body):
    """None when the answer (@status, @headers, @body) to @method @path is one @doc describes:
    the path and method, the status code, the content type and, for JSON, the required
    top-level fields present and no field the schema does not name; else why not."""
    tpl = match_path(doc, path.split('?')[0])
    if tpl:
        op = doc['paths'][tpl].get(method.lower())
        if not op and status in REFUSALS:  # a method not served: the one served lists these
            op = doc['paths'][tpl].get('get') or doc['paths'][tpl].get('post')
        if not op:
            return '%s %s is not in the document' % (method, tpl)
        resp = op['responses'].get(str(status))
    elif status in (401, 404, 429):  # a path not served: refused, with the error shape
        tpl, resp = path, {'$ref': '#/components/responses/NotFound'}
    else:
        return 'path %s is not in the document, and answered %d' % (path, status)
    if resp is None:
        return '%s %s: status %d is not documented' % (method, tpl, status)
    resp = resolve(doc, resp)
    ctype = headers.get('content-type', '').split(';')[0].strip()
    content = resp.get('content', {})
    if ctype not in content:
        return '%s %s %d: content type %r not documented (%s)' % (
            method, tpl, status, ctype, list(content))
    schema = resolve(doc, content[ctype].get('schema', {}))
    if ctype != 'application/json':
        return None
    try:
        value = json.loads(body)
    except ValueError as e:
        return 'not JSON: %s' % e
    if schema.get('type') == 'object':
        if not isinstance(value, dict):
            return 'not an object'
        missing = [k for k in schema.get('required', []) if k not in value]
        extra = [k for k in value if k not in schema.get('properties', {})]
        if missing or extra:
            return '%s %s %d: missing %s, undocumented %s' % (method, tpl, status, missing, extra)
    return None


def openapi_misses(doc, answers):
    """Of @answers ((path, method, status, headers, body) each, as a test recorded them), those
    the OpenAPI document @doc does not describe: (path, method, status, why) each."""
    return [(p, m, s, why) for p, m, s, h, b in answers
            for why in [check_openapi(doc, p, m, s, h, b)] if why]


def answers_documented(tap, eng, answers, token):
    """The check that every answer a test recorded (@answers, see openapi_misses) is one the
    OpenAPI document the engine serves (read with @token) describes; the document."""
    st, hd, body = eng.get('/api/v1/openapi.json', token)
    doc = json.loads(body)
    bad = openapi_misses(doc, answers)
    tap.ok(not bad, 'every answer (%d) is one the document describes' % len(answers), bad)
    return doc


def ends_well(tap, eng, name='the engine stops cleanly (no sanitizer report)'):
    """A test's last checks: the engine and its simulator still run, and the engine then stops
    with status 0 (a sanitizer report would make it 1).  Returns how it ended."""
    tap.ok(eng.sim.p.poll() is None, 'the engine and the simulator still run')
    how = eng.stop()
    tap.ok(how == 'exited with status 0', name,
           (how, eng.stderr('ERROR') + eng.stderr('Sanitizer')))
    return how
