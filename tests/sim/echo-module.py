#!/usr/bin/env python3
"""echo-module.py - a tiny external module that plays the module's part of transcript 1.

It stands in for conf-engine while testing the simulator: it installs
call.execute and chan.dtmf at 50, answers callto=conf/NAME with
callto=dumb/ and a marker, sees peerid=dumb/N in its call.execute watcher,
attaches RTP with chan.masquerade + chan.rtp (complete_minimal=true),
answers the call with chan.masquerade + call.answered, and echoes back
every RTP packet it receives.  DTMF '#' makes it drop the leg (reason
kicked).  Standard library only.

With --bypass it takes the media of callers whose call.execute says
rtp_forward=yes and has their rtp_port, as transcript 4's module does: answers rtp_forward=accepted
(still callto=dumb/), makes no chan.rtp, answers with chan.masquerade
call.answered rtp_forward=yes rtp_addr/rtp_port (its own UDP socket)
formats=mulaw rtp_rfc2833=101 (none when the call says bypass_dtmf=no; a
bare call.answered, no address at all, when it says bypass_answer=bare),
sends one packet to the address the phone announced (what a phone behind a
NAT never gets), then echoes the phone's audio back to wherever its packets
come from (symmetric RTP, following a NAT's port change) and logs each
RFC 4733 key once on stderr ("rfc4733 KEY from dumb/N").

Misbehaviours for the simulator's robustness tests (one at a time):
  --no-minimal     masquerade chan.rtp without complete_minimal (no RTP: Yate's behaviour)
  --hang           never answer call.execute
  --garbage        write a bad line after start-up
  --crash          exit with status 3 on the first call.execute
  --flood N        write N output lines right after start-up
  --ignore-eof     keep running after stdin closes (a hung module)
  --exit-status N  exit with status N when stdin closes (a sanitizer build's
                   exit after a report: ASan/UBSan 1, LeakSanitizer 23)
  --asan-report    print an AddressSanitizer-like report on stderr when stdin
                   closes, then exit 0
  --tsan-report    the same with a ThreadSanitizer-like report (TSan prints
                   "WARNING:", not "ERROR:", and goes on unless halt_on_error)
  --connect PATH   connect to a unix socket instead of using stdin/stdout
  --pair           for load tests: no echo, point each pair of legs at each other
                   (the simulator then both sends and receives all the RTP)
"""
import os
import select
import shlex
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simlib import esc, unesc  # noqa: E402 (the one copy of the escaping rules)


def parse_params(fields):
    params = {}
    for f in fields:
        k, _, v = f.partition('=')
        params[unesc(k)] = unesc(v)
    return params


class Module:
    def __init__(self, argv):
        self.opts = set(a for a in argv if a.startswith('--'))
        self.flood = 0
        self.exit_status = 0
        self.sockpath = None
        for i, a in enumerate(argv):
            if a == '--flood':
                self.flood = int(argv[i + 1])
            if a == '--exit-status':
                self.exit_status = int(argv[i + 1])
            if a == '--connect':
                self.sockpath = argv[i + 1]
        if self.sockpath:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(self.sockpath)
            self.rfd = self.sock.fileno()
            self.wfile = self.sock.makefile('w', buffering=1)
        else:
            self.rfd = sys.stdin.fileno()
            self.wfile = sys.stdout
        self.buf = b''
        self.seq = 0
        self.legs = {}      # dumb id -> udp socket
        self.remote = {}    # dumb id -> (ip, port) of the simulator's RTP
        self.pending = {}   # our message id -> (kind, dumb id)
        self.rooms = {}
        self.unpaired = None  # --pair: a leg waiting for a partner
        self.keys = {}      # --bypass: dumb id -> timestamp of the last key seen

    def send(self, line):
        self.wfile.write(line + '\n')
        self.wfile.flush()

    def log(self, text):
        sys.stderr.write('echo-module: %s\n' % text)
        sys.stderr.flush()

    def message(self, name, params, kind=None, chan=None):
        self.seq += 1
        mid = 'ce%d' % self.seq
        if kind:
            self.pending[mid] = (kind, chan)
        fields = ':'.join('%s=%s' % (esc(k), esc(v)) for k, v in params)
        self.send('%%%%>message:%s:%d:%s::%s' % (mid, int(time.time()), name, fields))

    def start(self):
        if self.sockpath:
            self.send('%%>connect:global')
        self.send('%%>setlocal:engine.version:')
        self.send('%%>setlocal:restart:true')
        self.send('%%>install:50:call.execute')
        self.send('%%>install:50:chan.dtmf')
        for w in ('call.execute', 'chan.hangup', 'chan.disconnected', 'chan.notify',
                  'call.answered', 'chan.startup', 'call.route'):
            self.send('%%>watch:' + w)
        if '--garbage' in self.opts:
            self.send('%%>bogus:line')
        for i in range(self.flood):
            self.send('%%>output:flood line %d' % i)

    # ---- what Yate sends us ----

    def on_message(self, mid, name, params):
        if '--hang' in self.opts:
            return
        if name == 'call.execute':
            if '--crash' in self.opts:
                os._exit(3)
            callto = params.get('callto', '')
            if callto.startswith('conf/'):
                room = callto[5:]
                fwd = ''
                if ('--bypass' in self.opts and params.get('rtp_forward') == 'yes' and
                        params.get('rtp_port')):
                    fwd = ':rtp_forward=accepted'
                self.send('%%%%<message:%s:false:::callto=dumb/:ce_room=%s%s' %
                          (mid, esc(room), fwd))
                return
        if name == 'chan.dtmf':
            peer = params.get('peerid', '')
            self.log('dtmf %s from %s' % (params.get('text'), params.get('id')))
            if params.get('text') == '#' and peer in self.legs:
                self.message('call.drop', [('id', peer), ('reason', 'kicked')])
            self.send('%%%%<message:%s:true::' % mid)
            return
        self.send('%%%%<message:%s:false::' % mid)

    def on_watch(self, name, handled, params):
        if name == 'call.execute' and handled and params.get('ce_room'):
            dumb = params.get('peerid', '')
            if not dumb.startswith('dumb/') or dumb in self.legs:
                return
            if params.get('rtp_forward') == 'accepted':
                self.bypass(dumb, params)
                return
            if '--pair' in self.opts:
                self.legs[dumb] = None
                self.message('chan.masquerade', [
                    ('id', dumb), ('message', 'chan.rtp'), ('media', 'audio'),
                    ('direction', 'bidir'), ('remoteip', '127.0.0.1'), ('remoteport', '9'),
                    ('format', 'mulaw'), ('complete_minimal', 'true')], 'rtp', dumb)
                self.message('chan.masquerade', [('id', dumb), ('message', 'call.answered')])
                return
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind(('127.0.0.1', 0))
            udp.setblocking(False)
            self.legs[dumb] = udp
            rtp = [('id', dumb), ('message', 'chan.rtp'), ('media', 'audio'),
                   ('direction', 'bidir'), ('remoteip', '127.0.0.1'),
                   ('remoteport', str(udp.getsockname()[1])), ('format', 'mulaw'),
                   ('rtcp', 'false')]
            if '--no-minimal' not in self.opts:
                rtp.append(('complete_minimal', 'true'))
            self.message('chan.masquerade', rtp, 'rtp', dumb)
            self.message('chan.masquerade', [('id', dumb), ('message', 'call.answered')])
        elif name == 'chan.hangup':
            if self.unpaired and self.unpaired[0] == params.get('id'):
                self.unpaired = None
            udp = self.legs.pop(params.get('id', ''), None)
            if udp is not None:
                udp.close()

    def bypass(self, dumb, params):
        """Answer with our own RTP address; the phone's RTP comes straight to it."""
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(('127.0.0.1', 0))
        udp.setblocking(False)
        self.legs[dumb] = udp
        answer = [('id', dumb), ('message', 'call.answered'), ('rtp_forward', 'yes'),
                  ('rtp_addr', '127.0.0.1'), ('media', 'yes'), ('formats', 'mulaw'),
                  ('transport', 'RTP/AVP'), ('rtp_port', str(udp.getsockname()[1]))]
        if params.get('bypass_dtmf') != 'no':
            answer.append(('rtp_rfc2833', '101'))
        if params.get('bypass_answer') == 'bare':
            answer = answer[:2]
        self.message('chan.masquerade', answer)
        # before the phone's first packet: to the address it announced
        hello = bytes([0x80, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0, 42]) + bytes([0xff]) * 160
        udp.sendto(hello, (params.get('rtp_addr', '127.0.0.1'), int(params.get('rtp_port', 9))))

    def on_answer(self, mid, handled, params):
        kind, dumb = self.pending.pop(mid, (None, None))
        if kind == 'rtp' and handled and params.get('localport'):
            self.remote[dumb] = (params.get('localip', '127.0.0.1'), int(params['localport']))
            if '--pair' in self.opts:
                self.pair(dumb, (params.get('localip', '127.0.0.1'), params['localport']))

    def pair(self, dumb, addr):
        if not self.unpaired:
            self.unpaired = (dumb, addr)
            return
        other, oaddr = self.unpaired
        self.unpaired = None
        for a, (ip, port) in ((dumb, oaddr), (other, addr)):
            self.message('chan.masquerade', [
                ('id', a), ('message', 'chan.rtp'), ('media', 'audio'), ('direction', 'bidir'),
                ('remoteip', ip), ('remoteport', port), ('format', 'mulaw'),
                ('complete_minimal', 'true')])

    def on_line(self, line):
        if line.startswith('%%>message:'):
            f = line[11:].split(':')
            self.on_message(unesc(f[0]), unesc(f[2]), parse_params(f[4:]))
        elif line.startswith('%%<message:'):
            f = line[11:].split(':')
            mid, handled, name = unesc(f[0]), f[1] == 'true', unesc(f[2])
            params = parse_params(f[4:])
            if mid:
                self.on_answer(mid, handled, params)
            else:
                self.on_watch(name, handled, params)

    def echo(self, dumb, udp):
        while True:
            try:
                pkt, src = udp.recvfrom(2048)
            except BlockingIOError:
                return
            if dumb in self.remote:
                udp.sendto(pkt, self.remote[dumb])
            elif len(pkt) >= 16 and pkt[1] & 0x7f == 101:
                self.key(dumb, pkt)
            elif len(pkt) > 12:
                udp.sendto(pkt, src)  # bypassed: symmetric RTP, latched on every packet

    def key(self, dumb, pkt):
        """An RFC 4733 packet: a key is new when its timestamp is."""
        ts = int.from_bytes(pkt[4:8], 'big')
        if self.keys.get(dumb) == ts:
            return
        self.keys[dumb] = ts
        key = '0123456789*#ABCD'[pkt[12]] if pkt[12] < 16 else 'F'
        self.log('rfc4733 %s from %s' % (key, dumb))

    def leave(self):
        """At EOF: what a sanitizer build would do at its exit, if asked to."""
        if '--asan-report' in self.opts:
            sys.stderr.write('=================================================================\n'
                             '==4242==ERROR: AddressSanitizer: heap-use-after-free on address '
                             '0x602000000010 at pc 0x55d0 bp 0x7ffc sp 0x7ffc\n')
            sys.stderr.flush()
        if '--tsan-report' in self.opts:
            sys.stderr.write('==================\n'
                             'WARNING: ThreadSanitizer: data race (pid=4242)\n'
                             '  Write of size 8 at 0x7b0400000010 by thread T1:\n')
            sys.stderr.flush()
        if self.exit_status:
            sys.stdout.flush()
            os._exit(self.exit_status)

    def run(self):
        self.start()
        eof = False
        while True:
            fds = [u for u in self.legs.values() if u] + ([] if eof else [self.rfd])
            if not fds:
                time.sleep(0.1)
                continue
            ready, _, _ = select.select(fds, [], [], 1.0)
            for fd in ready:
                if fd == self.rfd:
                    data = os.read(self.rfd, 65536)
                    if not data:
                        if '--ignore-eof' not in self.opts:
                            self.leave()
                            return
                        eof = True
                        continue
                    self.buf += data
                    while b'\n' in self.buf:
                        line, self.buf = self.buf.split(b'\n', 1)
                        self.on_line(line.decode('utf-8', 'replace'))
                else:
                    for dumb, udp in list(self.legs.items()):
                        if udp is fd:
                            self.echo(dumb, udp)


if __name__ == '__main__':
    try:
        # Started as Yate starts a [scripts] entry: one argument holding every
        # option (maybe empty); started by hand: the options as usual.
        args = shlex.split(sys.argv[1]) if len(sys.argv) == 2 else sys.argv[1:]
        Module(args).run()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
