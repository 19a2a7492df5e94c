"""siplib.py - a minimal SIP phone for real-Yate tests: UDP SIP, G.711 RTP, RFC 4733, a NAT.

baresip is a real phone, but it sends its RTP from the port its SDP names
and cannot be told otherwise. This phone is for what only a test can make
happen: a phone behind a NAT (its SDP says one RTP port, its packets come
from another), a NAT that moves the phone to a new port mid-call (same
SSRC), and re-INVITEs written by the test (hold, a codec change). It
speaks real SIP over UDP to Yate (INVITE with SDP, ACK, re-INVITE, BYE; no
authentication, no TCP, no forking), and real RTP: 20 ms G.711 frames
from a sample list, what it receives decoded into `heard`.
"""
import random
import re
import select
import socket
import threading
import time

RATE = 8000
FRAME = 160
WAIT = 10.0


def _ulaw_encode(s):
    s = max(-32635, min(32635, int(s)))
    sign = 0x80 if s < 0 else 0
    if s < 0:
        s = -s
    s += 0x84
    exp = 7
    mask = 0x4000
    while exp > 0 and not s & mask:
        exp -= 1
        mask >>= 1
    mant = (s >> (exp + 3)) & 0x0F
    return ~(sign | (exp << 4) | mant) & 0xFF


def _ulaw_decode(b):
    b = ~b & 0xFF
    sign, exp, mant = b & 0x80, (b >> 4) & 7, b & 0x0F
    s = (((mant << 3) + 0x84) << exp) - 0x84
    return -s if sign else s


def _alaw_encode(s):
    s = max(-32767, min(32767, int(s)))
    sign = 0x80 if s >= 0 else 0
    if s < 0:
        s = -s - 1
    if s < 256:
        out = s >> 4
    else:
        exp = s.bit_length() - 8
        out = (exp << 4) | ((s >> (exp + 3)) & 0x0F)
    return (out | sign) ^ 0x55


def _alaw_decode(b):
    b ^= 0x55
    sign, exp, mant = b & 0x80, (b >> 4) & 7, b & 0x0F
    s = (mant << 4) + 8 if exp == 0 else ((mant << 4) + 0x108) << (exp - 1)
    return s if sign else -s


ENCODE = {0: [_ulaw_encode], 8: [_alaw_encode]}
DECODE_TABLE = {0: [_ulaw_decode(i) for i in range(256)],
                8: [_alaw_decode(i) for i in range(256)]}
NAMES = {0: 'PCMU', 8: 'PCMA'}
DTMF_EVENTS = {c: i for i, c in enumerate('0123456789*#ABCD')}


class Phone:
    """One call from this phone to Yate's SIP port; a context manager that hangs up."""

    def __init__(self, yate_port, user='nat', play=(), pts=(0, 8), dtmf_pt=101, nat=False):
        """@play: the samples it says, looped; @pts: its audio payload types, preferred
        first; @nat: its SDP names a port it never sends from (the NAT's inside port)."""
        self.yate = ('127.0.0.1', yate_port)
        self.user = user
        self.play = list(play) or [0] * FRAME
        self.pts = list(pts)
        self.dtmf_pt = dtmf_pt
        self.sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sip.bind(('127.0.0.1', 0))
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(('127.0.0.1', 0))
        self.sdp_port = self._spare_port() if nat else self.rtp.getsockname()[1]
        self.call_id = '%x@127.0.0.1' % random.getrandbits(64)
        self.tag = '%x' % random.getrandbits(32)
        self.cseq = random.randint(1, 1000)
        self.remote_tag = None
        self.remote_contact = None
        self.far = None  # (ip, port) of the far RTP end from the answer
        self.pt = None   # audio payload type the answer chose
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(16)
        self.ts = random.getrandbits(32)
        self.heard = []
        self.sent_from = set()  # the RTP source ports used
        self.got_from = set()   # where the far end's RTP came from
        self.received = 0
        self.answers = []       # SIP responses, as text
        self.requests = []      # SIP requests Yate sent us
        self._pos = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._keys = []         # RFC 4733 events waiting to go out
        self._thread = None

    @staticmethod
    def _spare_port():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
        s.close()
        return port

    # ---- SIP ------------------------------------------------------------------------

    def _sdp(self, pts, direction='sendrecv', port=None):
        fmts = ' '.join(str(p) for p in list(pts) + [self.dtmf_pt])
        lines = ['v=0', 'o=- 1 %d IN IP4 127.0.0.1' % self.cseq, 's=-', 'c=IN IP4 127.0.0.1',
                 't=0 0', 'm=audio %d RTP/AVP %s' % (port or self.sdp_port, fmts)]
        lines += ['a=rtpmap:%d %s/8000' % (p, NAMES[p]) for p in pts]
        lines += ['a=rtpmap:%d telephone-event/8000' % self.dtmf_pt,
                  'a=fmtp:%d 0-15' % self.dtmf_pt, 'a=ptime:20', 'a=%s' % direction]
        return '\r\n'.join(lines) + '\r\n'

    def _request(self, method, number, body=None, cseq=None):
        me = self.sip.getsockname()
        uri = self.remote_contact or 'sip:%s@%s:%d' % (number, *self.yate)
        to = '<sip:%s@%s:%d>' % (number, *self.yate)
        if self.remote_tag:
            to += ';tag=%s' % self.remote_tag
        head = [
            '%s %s SIP/2.0' % (method, uri),
            'Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%x;rport' % (me[0], me[1],
                                                               random.getrandbits(48)),
            'Max-Forwards: 70',
            'From: <sip:%s@%s:%d>;tag=%s' % (self.user, me[0], me[1], self.tag),
            'To: %s' % to,
            'Call-ID: %s' % self.call_id,
            'CSeq: %d %s' % (cseq or self.cseq, method),
            'Contact: <sip:%s@%s:%d>' % (self.user, me[0], me[1]),
            'User-Agent: conf-engine-test-siplib',
        ]
        body = body or ''
        if body:
            head.append('Content-Type: application/sdp')
        head.append('Content-Length: %d' % len(body.encode()))
        self.sip.sendto(('\r\n'.join(head) + '\r\n\r\n' + body).encode(), self.yate)

    def _read_sip(self, timeout):
        r, _, _ = select.select([self.sip], [], [], timeout)
        if not r:
            return None
        data, src = self.sip.recvfrom(65535)
        text = data.decode(errors='replace')
        if text.startswith('SIP/2.0'):
            self.answers.append(text)
            return text
        self.requests.append(text)
        self._answer_request(text, src)
        return None

    def _answer_request(self, text, src):
        """Yate's BYE or OPTIONS: 200 OK, as a phone does."""
        first = text.split('\r\n', 1)[0]
        if first.startswith('ACK'):
            return
        keep = [l for l in text.split('\r\n') if re.match(r'(Via|From|To|Call-ID|CSeq):', l, re.I)]
        self.sip.sendto(('SIP/2.0 200 OK\r\n' + '\r\n'.join(keep) +
                         '\r\nContent-Length: 0\r\n\r\n').encode(), src)

    def _transaction(self, method, number, body=None):
        """Send @method and wait for its final answer: (code, text) or (None, None)."""
        self.cseq += 1
        self._request(method, number, body)
        end = time.monotonic() + WAIT
        while time.monotonic() < end:
            text = self._read_sip(0.1)
            if not text or ('CSeq: %d %s' % (self.cseq, method)) not in text:
                continue
            code = int(text.split(' ', 2)[1])
            if code >= 200:
                return code, text
        return None, None

    def _ack(self, number):
        self._request('ACK', number, cseq=self.cseq)

    def _take_answer(self, text):
        m = re.search(r'^To:.*;tag=([^;\s]+)', text, re.M | re.I)
        self.remote_tag = m.group(1) if m else self.remote_tag
        m = re.search(r'^Contact:\s*<([^>]+)>', text, re.M | re.I)
        self.remote_contact = m.group(1) if m else self.remote_contact
        body = text.split('\r\n\r\n', 1)[1] if '\r\n\r\n' in text else ''
        c = re.search(r'^c=IN IP4 (\S+)', body, re.M)
        m = re.search(r'^m=audio (\d+) RTP/AVP ([\d ]+)', body, re.M)
        if c and m:
            self.far = (c.group(1), int(m.group(1)))
            pts = [int(p) for p in m.group(2).split()]
            self.pt = next((p for p in pts if p in NAMES), None)
        return body

    def call(self, number):
        """INVITE @number; True once answered (200, ACKed) and RTP runs both ways."""
        self.number = number
        code, text = self._transaction('INVITE', number, self._sdp(self.pts))
        if code != 200:
            return False
        self.answer_sdp = self._take_answer(text)
        self._ack(number)
        self._thread = threading.Thread(target=self._media, daemon=True)
        self._thread.start()
        return self.far is not None and self.pt is not None

    def reinvite(self, pts=None, direction='sendrecv'):
        """A re-INVITE in the call (hold with direction='sendonly'); the answer's code."""
        code, text = self._transaction('INVITE', self.number,
                                       self._sdp(pts or [self.pt], direction))
        if code is not None:
            self._ack(self.number)
        if code == 200:
            self.answer_sdp = self._take_answer(text)
        return code

    def hangup(self):
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        code, _ = self._transaction('BYE', self.number)
        return code == 200

    def close(self):
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        self.sip.close()
        self.rtp.close()

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        self.close()

    # ---- RTP ------------------------------------------------------------------------

    def rebind(self):
        """The NAT moves the phone to a new source port; its stream (SSRC) goes on."""
        new = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        new.bind(('127.0.0.1', 0))
        with self._lock:
            old, self.rtp = self.rtp, new
        old.close()
        return new.getsockname()[1]

    def send_dtmf(self, digit):
        """@digit as RFC 4733: three updates and three end packets of one event (one ts)."""
        with self._lock:
            self._keys.append(DTMF_EVENTS[digit])

    def _packet(self, pt, payload, marker=False):
        hdr = bytes([0x80, (0x80 if marker else 0) | pt, (self.seq >> 8) & 0xFF,
                     self.seq & 0xFF]) + self.ts.to_bytes(4, 'big') + self.ssrc.to_bytes(4, 'big')
        self.seq = (self.seq + 1) & 0xFFFF
        return hdr + payload

    def _send(self, pkt):
        with self._lock:
            sock = self.rtp
        try:
            sock.sendto(pkt, self.far)
            self.sent_from.add(sock.getsockname()[1])
        except OSError:
            pass

    def _media(self):
        key = None
        next_at = time.monotonic()
        while not self._stop.is_set():
            with self._lock:
                if key is None and self._keys:
                    key, key_frames = self._keys.pop(0), 0
            if key is not None:
                # one event: the same timestamp, duration growing, the last three with E
                key_frames += 1
                end = key_frames >= 5
                payload = bytes([key, (0x80 if end else 0) | 10]) + \
                    (key_frames * FRAME).to_bytes(2, 'big')
                for _ in range(3 if end else 1):
                    self._send(self._packet(self.dtmf_pt, payload, marker=key_frames == 1))
                if end:
                    key = None
                    self.ts = (self.ts + key_frames * FRAME) & 0xFFFFFFFF
            else:
                enc = ENCODE[self.pt][0]  # a re-INVITE may change it
                frame = [self.play[(self._pos + i) % len(self.play)] for i in range(FRAME)]
                self._pos = (self._pos + FRAME) % len(self.play)
                self._send(self._packet(self.pt, bytes(enc(s) for s in frame)))
                self.ts = (self.ts + FRAME) & 0xFFFFFFFF
            self._receive(next_at + 0.02)
            next_at += 0.02

    def _receive(self, until):
        table = DECODE_TABLE.get(self.pt)
        while True:
            left = until - time.monotonic()
            with self._lock:
                sock = self.rtp
            try:
                r, _, _ = select.select([sock], [], [], max(0.0, left))
            except (OSError, ValueError):
                r = []
            if not r:
                if left <= 0:
                    return
                continue
            try:
                data, src = sock.recvfrom(2048)
            except OSError:
                continue
            if len(data) < 12 or (data[1] & 0x7F) != self.pt:
                continue
            self.received += 1
            self.got_from.add(src)
            self.heard.extend(table[b] for b in data[12:])
