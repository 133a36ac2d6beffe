"""The device app's serial transport ("transport": "serial"): the board's half of the line protocol
(docs/SERIAL-PROTOCOL.md) on its console, sys.stdin/sys.stdout, which the Pi's edgenats-serial bridge
relays to the broker. Loaded only in serial mode.

SerialLink stands in for the unats client the app uses over Wi-Fi: publish, subscribe, wait_msg,
is_connected, reconnects, and the request token (_ask, _replies) that unats.outbox.Outbox sends readings
with, so the readings, the status, the commands and the outbox are the app's own. Every line it sends is
numbered and kept until the bridge acks it (the bridge acks once the broker or the stream has it); what is
not acked is sent again after RESEND_MS, after a NAK for a bad checksum and after each hello. The bridge's
messages (MSG) are taken in order and acked by number. Lines that are not frames (the app's own log
lines, MicroPython's messages) go out as they are; the bridge logs them.
"""

import select
import sys
from binascii import a2b_base64, b2a_base64

from unats import Msg, ticks_diff, ticks_ms

RESEND_MS = 2000
LOST_MS = 6000  # no ack for this long while lines wait: the link is down, say hello until it answers


def crc16(data):
    """CRC-16/CCITT-FALSE, bit by bit: a few hundred bytes a line, no table in RAM."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1) & 0xFFFF
    return crc


def pack(data):
    if not data:
        return b"-"
    return b2a_base64(data if isinstance(data, bytes) else data.encode())[:-1]


def unpack(field):
    return b"" if field == b"-" else a2b_base64(field)


class SerialLink:
    def __init__(self, dev, version, boot):
        self.dev, self.version, self.boot = dev, version, boot
        self._n = 0  # the last line number used
        self._pending = {}  # number -> [line, is a subscription]: lines the bridge has not acked
        self._rx = 0  # the last of the bridge's messages taken
        self._subs = {}  # sid -> [subject, queue, callback]
        self._replies = {}  # request tokens (line numbers) -> their answer, as unats keeps them
        self._asked = 0  # the line carrying the outbox's entry in flight
        self.is_connected = False
        self.reconnects = -1  # 0 after the first hello is acked, as unats counts connections
        self._hello = 0
        self._sent = self._heard = ticks_ms()
        self._line = b""
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)

    # -- sending -----------------------------------------------------------------------------

    def _write(self, n, verb, fields):
        body = b" ".join([b"%d" % n, verb] + fields)  # noqa: UP031
        self._out.write(b"~%s %04x\n" % (body, crc16(body)))  # noqa: UP031

    def _numbered(self, verb, fields, sub=False):
        self._n += 1
        line = [verb, fields]
        self._pending[self._n] = [line, sub]
        if self.is_connected:
            self._write(self._n, verb, fields)
        return self._n

    def hello(self):
        self._n += 1
        self._hello = self._n
        self._sent = ticks_ms()
        self._write(self._n, b"HELLO", [self.dev.encode(), self.version.encode(), self.boot.encode(),
                                         b"%d" % self._rx])  # noqa: UP031

    def publish(self, subject, data=b"", reply=None, headers=None):
        hdr = b"-"
        if headers:
            import json

            hdr = pack(json.dumps(headers))
        return self._numbered(b"PUB", [subject.encode(), reply.encode() if reply else b"-", hdr, pack(data)])

    def _ask(self, subject, data, headers):
        """The outbox's send: a numbered PUB whose ack (with the PubAck when a stream has it) is its answer."""
        self._pending.pop(self._asked, None)  # an entry sent again replaces its earlier line
        self._asked = self.publish(subject, data, None, headers)
        self._replies[self._asked] = None
        return self._asked

    def subscribe(self, subject, cb=None, queue=None):
        sid = len(self._subs) + 1
        self._subs[sid] = [subject, queue, cb]
        self._sub(sid)
        return sid

    def _sub(self, sid):
        subject, queue = self._subs[sid][:2]
        self._numbered(b"SUB", [b"%d" % sid, subject.encode(), queue.encode() if queue else b"-"], True)  # noqa: UP031

    def flush(self, timeout=2.0):
        pass  # every line is acked on its own

    def close(self):
        self.is_connected = False

    # -- receiving ---------------------------------------------------------------------------

    def wait_msg(self, timeout=None):
        """Read what the bridge sends for up to timeout seconds (returns sooner after a frame), and send
        again what waits too long."""
        self._tick()
        ms = int((timeout or 0) * 1000)
        start = ticks_ms()
        while self._poll.poll(max(0, ms - ticks_diff(ticks_ms(), start))):
            while self._poll.poll(0):
                byte = self._in.read(1)
                if byte == b"\n":
                    line, self._line = self._line, b""
                    if line[:1] == b"~" and self._frame(line[1:].rstrip(b"\r")):
                        return
                elif byte and len(self._line) < 2048:
                    self._line += byte
            if ticks_diff(ticks_ms(), start) >= ms:
                return

    def _tick(self):
        now = ticks_ms()
        if ticks_diff(now, self._sent) < RESEND_MS:
            return
        if self.is_connected and self._pending and ticks_diff(now, self._heard) >= LOST_MS:
            self.is_connected = False  # unplugged, or the bridge is gone
        if not self.is_connected:
            self.hello()
            return
        self._resend()

    def _resend(self):
        self._sent = ticks_ms()
        for n in sorted(self._pending):
            self._write(n, *self._pending[n][0])

    def _frame(self, line):
        """One frame from the bridge; True if it was one the app should see at once."""
        body, _, crc = line.rpartition(b" ")
        words = body.split(b" ")
        try:
            good = len(crc) == 4 and int(crc, 16) == crc16(body)
            n, verb = int(words[0]), words[1]
        except (ValueError, IndexError):
            good = False
        if not good:
            if words[0].isdigit() and words[0] != b"0":
                self._write(0, b"NAK", [words[0], b"crc"])
            return False
        try:
            return self._take(n, verb, words)
        except (ValueError, IndexError, KeyError):  # a frame the bridge would not send: ignored
            return False

    def _take(self, n, verb, words):
        if verb == b"ACK" or verb == b"NAK":
            self._heard = ticks_ms()
            return self._answer(int(words[2]), verb == b"ACK", words[3])
        if verb == b"SYNC":
            self.hello()
        elif verb == b"MSG":
            if n == self._rx + 1:
                self._rx = n
                sub = self._subs.get(int(words[2]))
                if sub is not None and sub[2] is not None:
                    import json

                    hdr = None if words[5] == b"-" else json.loads(unpack(words[5]))
                    sub[2](Msg(words[3].decode(), unpack(words[6]),
                               None if words[4] == b"-" else words[4].decode(), hdr, None, int(words[2])))
            self._write(0, b"ACK", [b"%d" % self._rx, b"-"])  # noqa: UP031 - taken in order: up to rx
            return True
        return False

    def _answer(self, n, acked, info):
        if n == self._hello:
            if not acked:
                return False
            self.is_connected = True
            self.reconnects += 1
            for k in [k for k in self._pending if self._pending[k][1]]:
                del self._pending[k]  # the bridge forgot the subscriptions with the hello: made again below
            for sid in self._subs:
                self._sub(sid)
            self._resend()
            return True
        if not acked and info == b"hello":
            self.is_connected = False
            self.hello()
            return False
        if not acked and info == b"crc":
            self._resend()
            return False
        if n in self._replies and (acked or n == self._asked):
            self._pending.pop(n, None)
            # the PubAck when a stream has it, else an empty one: the broker has the line either way
            self._replies[n] = Msg("", (unpack(info) or b"{}") if acked else b"", None, None,
                                   None if acked else 503, 0)
            return True
        if acked:
            self._pending.pop(n, None)
        return acked
