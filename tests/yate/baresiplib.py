"""baresiplib.py - real SIP phones for the real-Yate tests: baresip processes driven over ctrl_tcp.

Standard library only.  Each Phone is a baresip (Debian's 1.0.0 is enough)
with a config folder of its own that loads only: g711, aufile (what the
phone says: a WAV file, 8 kHz mono 16-bit, played once: the call ends when
the file does, so make it longer than the test), sndfile (what the
phone hears and says, recorded to WAV), account, menu (the commands) and
ctrl_tcp (those commands as netstring JSON on a loopback TCP port).  There
is no audio device: the phone plays nothing, it only records.  Everything
is on 127.0.0.1, SIP and RTP alike; the account points at Yate's SIP port
and never registers.  A phone whose first codec is G.722 or Opus says and
hears at 16 kHz; an Opus one made with opus_rate=48000 at 48 kHz (a
fullband softphone: test-yate-opus48.py).

    with baresiplib.Phones() as phones:
        a = phones.add(baresiplib.Phone(y.path('a'), 'a', play='a.wav', proxy=y.sip_port))
        a.start()
        a.dial('800')                     # True once the call is established
        a.send_rfc2833('1')               # RFC 2833 telephone-event in the RTP
        a.send_info('5')                  # SIP INFO application/dtmf-relay
        a.hangup()
        samples = a.heard()               # what the phone heard, 8 kHz

A phone that Yate calls (route a number to `sip/` + phone.uri()) rings
until the test calls accept() or reject() (486 Busy Here) after
wait_incoming(), or answers at once with answermode='auto' (wait_answered()).

baresip 1.0.0 cannot send DTMF as SIP INFO (that came with 1.1.0's
`dtmfmode=info` account parameter), so send_info() sends the INFO itself,
inside the phone's dialog: the Call-ID, tags and Contact come from the
phone's own SIP trace (baresip -s).  Every wait is bounded (WAIT seconds).
"""
import glob
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import wave

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yatelib  # noqa: E402
from yatelib import RATE, WAIT, free_port, wait_for  # noqa: E402  (one copy of each)

MODULE_DIRS = ('/usr/lib/baresip/modules', '/usr/lib/x86_64-linux-gnu/baresip/modules',
               '/usr/lib/aarch64-linux-gnu/baresip/modules', '/usr/local/lib/baresip/modules')
MODULES = ('g711', 'g722', 'aufile', 'sndfile', 'account', 'menu', 'ctrl_tcp')
# What a phone's codecs (baresip's names, best first) run at: a G.722 phone says and hears
# 16 kHz, and so does an Opus one unless made with opus_rate=48000 (its opus module's
# opus_samplerate: opus_config()).
WIDEBAND = ('G722', 'opus')
# How an account names them (baresip 1.0.0 looks G722 up as G722/8000/1 otherwise, and Opus
# by its audio rate and channels: opus/16000/1 or opus/48000/1 with opus_config(); its SDP
# says opus/48000/2 either way).
ACCOUNT_CODEC = {'G722': 'G722/16000/1', 'opus': 'opus/%(opus_rate)d/1'}
# The rates an Opus phone can be made at: wideband, as a desk phone, or fullband, as a
# softphone (baresip's encoder then sends the band the far end's maxplaybackrate allows).
OPUS_RATES = (16000, 48000)


def opus_config(rate=16000):
    """The config lines of baresip's opus module for a phone at @rate (OPUS_RATES): mono,
    asking for in-band FEC (its SDP says opus/48000/2 at either rate, RFC 7587)."""
    return ('module opus.so\nopus_samplerate %d\nopus_stereo no\nopus_sprop_stereo no\n'
            'opus_inbandfec yes\n' % rate)


def has_opus(found):
    """Whether baresip's module folder of @found (find()'s) has the opus codec."""
    return os.path.exists(os.path.join(found[1], 'opus.so'))


def find():
    """(baresip binary, module folder) or (None, why not)."""
    exe = os.environ.get('CE_BARESIP') or shutil.which('baresip')
    if not exe:
        return None, 'no baresip in PATH (Debian: apt-get install baresip-core)'
    for d in ([os.environ['CE_BARESIP_MODULES']] if os.environ.get('CE_BARESIP_MODULES')
              else MODULE_DIRS):
        if all(os.path.exists(os.path.join(d, m + '.so')) for m in MODULES):
            return (exe, d), None
    return None, 'no baresip module folder with %s.so' % '.so, '.join(MODULES)


def require(tap, opus=False):
    """(binary, module folder); without baresip (or, with @opus, without its opus module) the
    test skips (exit 0), or fails under $CI."""
    found, why = find()
    if found and opus and not has_opus(found):
        found, why = None, 'baresip has no opus module (opus.so) in %s' % found[1]
    if found:
        return found
    if os.environ.get('CI'):
        tap.ok(False, 'baresip is available (CI never skips the phones)', why)
        tap.done()
    print('1..0 # SKIP %s' % why)
    sys.exit(0)


# ---- audio files ------------------------------------------------------------------

def write_wav(path, samples, rate=RATE):
    """@samples (ints) as a mono 16-bit WAV at @rate: 8 kHz is what aufile plays for a G.711
    call, 16 kHz for a G.722 one."""
    with wave.open(path, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack('<%dh' % len(samples),
                                  *(int(max(-32768, min(32767, s))) for s in samples)))
    return path


def tones(freqs, seconds, rate, dbfs=-22.0):
    """Bursts of the tones @freqs said together (0.6 s on, 0.4 s off) at @rate, each at @dbfs."""
    parts = [yatelib.simlib.beeps(f, seconds, on=0.6, off=0.4, amplitude=10 ** (dbfs / 20.0),
                                  rate=rate) for f in freqs]
    return [sum(x) for x in zip(*parts)]


def read_recording(path):
    """The samples of a WAV that sndfile may still be writing (its sizes not yet filled in)."""
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except OSError:
        return []
    off = 12
    while off + 8 <= len(raw):
        cid, size = raw[off:off + 4], struct.unpack('<I', raw[off + 4:off + 8])[0]
        if cid == b'data':
            data = raw[off + 8:]
            if 0 < size <= len(data):
                data = data[:size]
            data = data[:len(data) & ~1]
            return list(struct.unpack('<%dh' % (len(data) // 2), data))
        off += 8 + size + (size & 1)
    return []


def _die_with_us():
    """In the child: end with the test's process, even when it is killed (Linux only)."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


# ---- SDP, as the phones' SIP traces show it (Phone.answer_sdp(), offer_sdp()) ----------

def opus_pt(sdp):
    """The payload type of opus/48000/2 in @sdp, or None."""
    m = re.search(r'^a=rtpmap:(\d+) opus/48000/2\s*$', sdp or '', re.M | re.I)
    return m.group(1) if m else None


def first_pt(sdp):
    """The first payload type of @sdp's m=audio line, or None."""
    m = re.search(r'^m=audio \d+ RTP/AVP (\d+)', sdp or '', re.M)
    return m.group(1) if m else None


def fmtp(sdp, pt):
    """The a=fmtp parameters of payload type @pt in @sdp, {name: value} (empty if none)."""
    m = re.search(r'^a=fmtp:%s ([^\r\n]*)' % re.escape(str(pt)), sdp or '', re.M)
    pairs = (kv.partition('=') for kv in (m.group(1).split(';') if m else ()) if kv.strip())
    return {k.strip(): v.strip() for k, _, v in pairs}


# ---- one phone ---------------------------------------------------------------------

class Phone:
    """One baresip process with its own config folder @dir; @play is the WAV it says."""

    def __init__(self, dir, name, play, proxy, found=None, answermode=None, codecs='PCMU',
                 opus_rate=16000):
        """@answermode: None (calls from Yate ring until accept() or reject()) or 'auto'
        (baresip answers every incoming call at once, as a phone set to auto-answer).
        @codecs: what it offers, best first, as baresip names them ('PCMU', 'G722,PCMU'); a
        phone whose first is wideband says a 16 kHz @play and hears at 16 kHz (self.rate).
        @opus_rate: what its Opus runs at (OPUS_RATES); a phone whose first codec is opus
        says and hears at that rate."""
        if opus_rate not in OPUS_RATES:
            raise ValueError('opus_rate %r is none of %s' % (opus_rate, OPUS_RATES))
        self.dir = dir
        self.codecs = codecs
        self.opus_rate = opus_rate
        first = codecs.split(',')[0]
        self.rate = opus_rate if first == 'opus' else 16000 if first in WIDEBAND else RATE
        self.answermode = answermode
        self.name = name
        self.play = play
        self.proxy = proxy            # Yate's SIP port on 127.0.0.1
        self.exe, self.modules = found or find()[0]
        self.proc = None
        self.sock = None
        self.buf = b''
        self.events = []              # ctrl_tcp events (dicts), in order
        self.responses = {}           # token -> response dict
        self.seq = 0
        self.call_id = None
        self.sip_port = self.ctrl_port = None
        self.info_cseq = 0
        self._handled = set()         # ids of incoming calls already taken by wait_*()
        self.refused = None           # CALL_CLOSED of the last dial() that was not answered
        self.rec = os.path.join(dir, 'rec')
        self.log = os.path.join(dir, 'baresip.log')
        os.makedirs(self.rec, exist_ok=True)

    def write_config(self):
        self.sip_port = free_port(socket.SOCK_DGRAM)
        self.ctrl_port = free_port()
        with open(os.path.join(self.dir, 'config'), 'w') as f:
            f.write('# %s: a test phone (tests/yate/baresiplib.py)\n' % self.name +
                    'module_path %s\n' % self.modules +
                    # a codec before the account module, which looks its codecs up at once
                    (opus_config(self.opus_rate) if 'opus' in self.codecs.split(',') else '') +
                    ''.join('module %s.so\n' % m for m in MODULES if m != 'ctrl_tcp') +
                    'module_app ctrl_tcp.so\n'
                    'sip_listen 127.0.0.1:%d\n' % self.sip_port +
                    'ctrl_tcp_listen 127.0.0.1:%d\n' % self.ctrl_port +
                    'net_interface 127.0.0.1\n'
                    'audio_source aufile,%s\n' % self.play +
                    'snd_path %s\n' % self.rec)
        with open(os.path.join(self.dir, 'accounts'), 'w') as f:
            # regint=0: never REGISTER; Yate (no user.auth handler) takes the calls as they come
            f.write('<sip:%s@127.0.0.1:%d>;regint=0;audio_codecs=%s%s\n' % (
                self.name, self.proxy,
                ','.join(ACCOUNT_CODEC.get(c, c) % {'opus_rate': self.opus_rate}
                         for c in self.codecs.split(',')),
                ';answermode=%s' % self.answermode if self.answermode else ''))
        open(os.path.join(self.dir, 'contacts'), 'w').close()

    def start(self):
        """Start baresip and connect to its ctrl_tcp; True when ready (new ports on a clash)."""
        for _ in range(3):
            self.write_config()
            cmd = [self.exe, '-f', self.dir, '-s']
            if shutil.which('stdbuf'):   # the SIP trace must reach the log as it happens
                cmd = ['stdbuf', '-oL'] + cmd
            with open(self.log, 'ab') as log:
                self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT, cwd=self.dir,
                                             start_new_session=True, preexec_fn=_die_with_us)
            end = time.monotonic() + WAIT
            while time.monotonic() < end and self.proc.poll() is None:
                try:
                    self.sock = socket.create_connection(('127.0.0.1', self.ctrl_port), timeout=1)
                    return True
                except OSError:
                    time.sleep(0.1)
            self.stop()
        return False

    # ctrl_tcp: each message is a netstring "LEN:JSON,"
    def _read(self, timeout):
        if not self.sock:
            return
        if select.select([self.sock], [], [], max(0.0, timeout))[0]:
            data = self.sock.recv(65536)
            if not data:
                self.sock.close()
                self.sock = None
                return
            self.buf += data
        while True:
            m = re.match(rb'(\d+):', self.buf)
            if not m or len(self.buf) < m.end() + int(m.group(1)) + 1:
                break
            n = int(m.group(1))
            body, self.buf = self.buf[m.end():m.end() + n], self.buf[m.end() + n + 1:]
            try:
                msg = json.loads(body.decode('utf-8', 'replace'))
            except ValueError:
                continue
            if msg.get('response'):
                self.responses[msg.get('token')] = msg
            elif msg.get('event'):
                self.events.append(msg)

    def command(self, cmd, params=''):
        """Run a baresip command (dial, hangup, sndcode: as on its console); the answer or None."""
        self.seq += 1
        token = '%s-%d' % (cmd, self.seq)
        body = json.dumps({'command': cmd, 'params': params, 'token': token}).encode()
        try:
            self.sock.sendall(b'%d:%s,' % (len(body), body))
        except (OSError, AttributeError):
            return None
        end = time.monotonic() + WAIT
        while token not in self.responses and self.sock and time.monotonic() < end:
            self._read(0.1)
        return self.responses.pop(token, None)

    def wait_event(self, *types, timeout=WAIT, since=0):
        """The first event at index >= @since whose type is one of @types, or None."""
        end = time.monotonic() + timeout
        while True:
            for e in self.events[since:]:
                if e.get('type') in types and (not self.call_id or e.get('id') in
                                               (None, self.call_id)):
                    return e
            if time.monotonic() > end or not self.sock:
                return None
            self._read(0.1)

    def dial(self, number):
        """Call @number at Yate; True once the call is established (with RTP flowing)."""
        since = len(self.events)
        self.call_id = None
        ans = self.command('dial', 'sip:%s@127.0.0.1:%d' % (number, self.proxy))
        if not ans or not ans.get('ok'):
            return False
        e = self.wait_event('CALL_ESTABLISHED', 'CALL_CLOSED', since=since)
        self.refused = e if e and e['type'] == 'CALL_CLOSED' else None
        if not e or e['type'] != 'CALL_ESTABLISHED':
            return False
        self.call_id = e.get('id')
        return True

    def uri(self):
        """The SIP URI that reaches this phone (for a route: sip/URI), once started."""
        return 'sip:%s@127.0.0.1:%d' % (self.name, self.sip_port)

    def wait_incoming(self, timeout=WAIT):
        """The next call from Yate (CALL_INCOMING, ringing) becomes the phone's call; its
        event, or None.  With answermode='auto' wait_answered() is the one to call."""
        self.call_id = None
        end = time.monotonic() + timeout
        while True:
            e = next((e for e in self.events if e.get('type') == 'CALL_INCOMING' and
                      e.get('id') not in self._handled), None)
            if e:
                self._handled.add(e.get('id'))
                self.call_id = e.get('id')
                return e
            if time.monotonic() > end or not self.sock:
                return None
            self._read(0.1)

    def wait_answered(self, timeout=WAIT):
        """An incoming call answered by the phone itself (answermode='auto'): its
        CALL_ESTABLISHED event, which makes it the phone's call, or None."""
        end = time.monotonic() + timeout
        while True:
            e = next((e for e in self.events if e.get('type') == 'CALL_ESTABLISHED' and
                      e.get('direction') == 'incoming' and e.get('id') not in self._handled),
                     None)
            if e:
                self._handled.add(e.get('id'))
                self.call_id = e.get('id')
                return e
            if time.monotonic() > end or not self.sock:
                return None
            self._read(0.1)

    def accept(self):
        """Answer the ringing call (wait_incoming()); True once it is established."""
        since = len(self.events)
        ans = self.command('accept')
        e = ans and ans.get('ok') and self.wait_event('CALL_ESTABLISHED', 'CALL_CLOSED',
                                                      since=since)
        return bool(e and e['type'] == 'CALL_ESTABLISHED')

    def reject(self):
        """Refuse the ringing call (wait_incoming()): baresip 1.0.0 answers 486 Busy Here
        (reason "Rejected"); True once the call is closed."""
        return self.hangup()

    def hangup(self):
        """Hang up; True once baresip has closed the call (and its recordings)."""
        since = len(self.events)
        ans = self.command('hangup')
        return bool(ans and ans.get('ok') and self.wait_event('CALL_CLOSED', since=since))

    def closed(self):
        """The CALL_CLOSED event of the current call (the far end hung up), or None."""
        self._read(0)
        return next((e for e in self.events if e.get('type') == 'CALL_CLOSED' and
                     e.get('id') == self.call_id), None)

    def send_rfc2833(self, digit):
        """One DTMF digit as RFC 2833 telephone-events in the call's RTP (baresip's own way)."""
        ans = self.command('sndcode', digit)
        return bool(ans and ans.get('ok'))

    # ---- SIP INFO, sent for the phone -----------------------------------------------

    def dialog(self):
        """The established call's dialog from the phone's SIP trace: the 2xx to its INVITE
        (From with our tag, To with Yate's, Call-ID, Contact, CSeq number), or None."""
        try:
            with open(self.log, encoding='utf-8', errors='replace') as f:
                text = f.read()
        except OSError:
            return None
        for block in text.split('\x1b[36;1m#\n')[1:]:
            block = block.split('\x1b[;m')[0].replace('\r\n', '\n')
            head = block.split('\n\n')[0].split('\n')
            if len(head) < 2 or not re.match(r'SIP/2\.0 2\d\d', head[1]):
                continue
            hdr = {}
            for line in head[2:]:
                k, _, v = line.partition(':')
                hdr.setdefault(k.strip().lower(), v.strip())
            cseq = hdr.get('cseq', '').split()
            if hdr.get('call-id') == self.call_id and len(cseq) == 2 and cseq[1] == 'INVITE':
                m = re.search(r'<([^>]+)>', hdr.get('contact', ''))
                return {'from': hdr.get('from'), 'to': hdr.get('to'), 'call-id': self.call_id,
                        'cseq': int(cseq[0]),
                        'uri': m.group(1) if m else 'sip:127.0.0.1:%d' % self.proxy}
        return None

    def send_info(self, digit):
        """One DTMF digit as a SIP INFO (application/dtmf-relay) in the phone's dialog,
        sent to Yate from a socket of the test: True once Yate answered 200."""
        dlg = wait_for(self.dialog)   # the trace may reach the log a moment after the event
        if not dlg:
            return False
        self.info_cseq = max(self.info_cseq, dlg['cseq'] + 100) + 1
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(('127.0.0.1', 0))
        branch = 'z9hG4bK-ce%08x' % random.getrandbits(32)
        body = 'Signal=%s\r\nDuration=160\r\n' % digit
        req = ('INFO %s SIP/2.0\r\n'
               'Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport\r\n'
               'Max-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d INFO\r\n'
               'Content-Type: application/dtmf-relay\r\nContent-Length: %d\r\n\r\n%s'
               % (dlg['uri'], s.getsockname()[1], branch, dlg['from'], dlg['to'],
                  dlg['call-id'], self.info_cseq, len(body), body)).encode()
        end = time.monotonic() + WAIT
        try:
            while time.monotonic() < end:
                s.sendto(req, ('127.0.0.1', self.proxy))   # UDP: resend until answered
                if not select.select([s], [], [], 0.5)[0]:
                    continue
                ans = s.recv(65536).decode('utf-8', 'replace')
                if branch not in ans or ans.startswith('SIP/2.0 1'):
                    continue
                return ans.startswith('SIP/2.0 200')
        finally:
            s.close()
        return False

    # ---- recordings ----------------------------------------------------------------

    def _dump(self, kind):
        files = sorted(glob.glob(os.path.join(self.rec, 'dump-*-%s.wav' % kind)))
        return files[-1] if files else None

    def trace_sdps(self, start):
        """The SDP bodies of the SIP messages of the phone's trace that start with @start (a
        regular expression), each up to its last "x=" line, in order."""
        text = open(self.log, encoding='utf-8', errors='replace').read()
        head = r'^' + start + r'[^\n]*\n(?:[^\r\n]+\r?\n)*\r?\n'  # its headers, to the blank line
        return re.findall(head + r'(v=0(?:\r?\n[a-z]=[^\r\n]*)*)', text, re.M)

    def answer_sdp(self):
        """The SDP of the first 200 OK the phone got (its SIP trace), or ''."""
        return (self.trace_sdps(r'SIP/2\.0 200 OK') or [''])[0]

    def offer_sdp(self):
        """The SDP of the first INVITE the phone sent (its SIP trace), or ''."""
        return (self.trace_sdps(r'INVITE sip:') or [''])[0]

    def heard(self):
        """What the phone heard (decoded from RTP, frame by frame as it came), at self.rate."""
        f = self._dump('dec')
        return read_recording(f) if f else []

    def said(self):
        """What the phone sent (its WAV, as encoded), at self.rate."""
        f = self._dump('enc')
        return read_recording(f) if f else []

    def heard_last(self, seconds):
        """The last @seconds of what the phone heard, at self.rate."""
        return self.heard()[-int(seconds * self.rate):]

    def heard_seconds(self):
        """How much the phone has heard so far, from its recording's size (44-byte header)."""
        f = self._dump('dec')
        try:
            return max(0, os.path.getsize(f) - 44) / 2 / self.rate if f else 0.0
        except OSError:
            return 0.0

    def log_tail(self, n=30):
        try:
            with open(self.log, encoding='utf-8', errors='replace') as f:
                lines = [l for l in f.read().replace('\r', '\n').split('\n')
                         if l.strip() and 'audio=' not in l]
        except OSError:
            return ''
        return '\n'.join(lines[-n:])

    def stop(self):
        """End the process (SIGTERM, then SIGKILL after WAIT)."""
        if self.sock:
            self.sock.close()
            self.sock = None
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class Phones:
    """The test's phones; a context manager that stops every one of them on the way out."""

    def __init__(self):
        self.all = []

    def add(self, phone):
        self.all.append(phone)
        return phone

    def start(self, tap, y, name, found, samples=None, rate=None, label=None, **kw):
        """A phone NAME in a folder of @y's, saying @samples (at @rate, by default that of its
        first codec, Phone.rate; None: 300 s of silence), added, started and checked with
        @tap; @kw go to Phone (codecs=, answermode=).  @label names it in the check."""
        p = self.add(Phone(y.path(name), name, y.path(name + '/play.wav'), y.sip_port, found,
                           **kw))
        rate = rate or p.rate
        write_wav(p.play, [0] * (300 * rate) if samples is None else samples, rate)
        tap.must(p.start(), '%s (baresip, %s) starts' % (label or name, p.codecs), p.log_tail())
        return p

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        for p in self.all:
            p.stop()
        return False


def hang_up_all(tap, y, phones, room):
    """The end of a test: each of @phones (number -> Phone) is still in its call and hangs up,
    and Yate @y's engine has no room @room (conf/NAME) left."""
    for n in phones:
        tap.ok(phones[n].closed() is None, 'phone %d is still in its call' % n,
               phones[n].log_tail())
        tap.ok(phones[n].hangup(), 'phone %d hangs up' % n, phones[n].log_tail())
    empty = wait_for(lambda: room not in y.rm('conf list'))
    tap.ok(bool(empty), 'every phone hung up: no room left', y.rm('conf list'))


def listen(phones, seconds):
    """Wait until each phone recorded @seconds more (a loaded machine only makes this longer)."""
    start = {p: p.heard_seconds() for p in phones}
    return bool(wait_for(lambda: all(p.heard_seconds() >= start[p] + seconds
                                     for p in phones), timeout=WAIT + seconds))
