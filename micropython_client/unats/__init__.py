"""unats: a small NATS client for MicroPython and CPython, blocking, in the manner of umqtt.simple.

One socket and one preallocated receive buffer (filled with readinto), driven by check_msg() and
wait_msg(). Reconnects across a server list with back-off and jitter, restores every subscription,
and keeps publishes made while disconnected in a bounded outbox that is sent after reconnecting.
"""

# ruff: noqa: UP031 - %-formatting works on bytes in MicroPython and CPython alike; str.format on bytes does not

import json
import random
import select
import socket
import sys
from errno import EINPROGRESS

try:
    from time import sleep_ms, ticks_add, ticks_diff, ticks_ms
except ImportError:  # CPython has no ticks API; monotonic milliseconds behave the same here
    import time

    def ticks_ms():
        return int(time.monotonic() * 1000)

    def ticks_add(t, delta):
        return t + delta

    def ticks_diff(a, b):
        return a - b

    def sleep_ms(ms):
        time.sleep(ms / 1000)


VERSION = "0.1.0"
MICROPYTHON = sys.implementation.name == "micropython"
# Messages up to this size (headers and payload) are written joined to their line, in one write.
JOIN_LIMIT = 512


class NATSError(Exception):
    pass


class ProtocolError(NATSError):
    """The server sent bytes that are not valid NATS protocol (or do not fit the buffer)."""


def __getattr__(name):
    """unats.AuthError, TimeoutError, NoRespondersError, OutboxFullError and ClosedError live in unats.extra,
    loaded when one is first raised or named: each exception class takes about 200 B of heap."""
    import unats.extra  # not "from unats import extra": that looks up unats.extra here first, and recurses

    return getattr(unats.extra, name)


class Msg:
    def __init__(self, subject, data, reply, headers, status, sid):
        self.subject = subject
        self.data = data
        self.reply = reply
        self.headers = headers
        self.status = status  # e.g. 503 from a "NATS/1.0 503" header line, else None
        self.sid = sid


class Client:
    # Few instance attributes on purpose: each one is a slot in the instance's hash table, and with about
    # 40 of them the table alone took 750 B of a 24K heap. Rarely read settings share a tuple.
    def __init__(self, servers, name=None, user=None, password=None, token=None, reconnect=True,
                 tls=False, bufsize=768, outbox_size=2048, timeout=5.0, ping_interval=60,
                 reconnect_wait=0.25, reconnect_wait_max=8.0, max_reconnect_attempts=-1, error_cb=None,
                 inbox_prefix="_INBOX"):
        self._servers = []  # (tls, host, port, user, password) from 'tls://user:pass@host:port'; 'secret@' is a token
        for url in [servers] if isinstance(servers, str) else servers:
            scheme, _, rest = url.rpartition("://")
            auth, _, hostport = rest.rpartition("@")
            host, _, port = hostport.rpartition(":")
            if not host:
                host, port = port, ""
            u, colon, pw = auth.partition(":")  # not user/password: those are the arguments
            self._servers.append((bool(tls) or scheme == "tls", host, int(port or 4222), u or None,
                                  pw if colon else None))
        self._opts = (name, user, password, token, tls, inbox_prefix)
        self._backoff = (int(reconnect_wait * 1000), int(reconnect_wait_max * 1000), max_reconnect_attempts)
        self._reconnect = reconnect
        self._timeout_ms = int(timeout * 1000)
        self._ping_ms = int(ping_interval * 1000)
        self._error_cb = error_cb
        self._buf = bytearray(bufsize)
        self._mv = memoryview(self._buf)
        self._n = self._pos = 0  # bytes in the buffer / start of the first unparsed operation
        self._sock = self._polled = None
        self._poll = select.poll()  # one poller for the client's life: fewer allocations on reconnect
        self._closed = False
        self._subs = {}  # sid -> [subject, queue, callback, max_msgs, received]
        self._sid = 0
        self._inbox = self._replies = None  # made by the first request()
        self._outbox = None  # made by the first publish while disconnected
        self._outbox_size = outbox_size
        self._attempts = self._next_try = 0
        self._pings = self._pongs = 0  # _pongs stays 0 until the handshake's PONG: -ERR then raises
        self._last_rx = 0
        self.info = None
        self.reconnects = -1  # the first connection brings it to 0; flush() also tells connections apart by it
        self.last_error = None

    # -- connection ------------------------------------------------------------------------------

    def connect(self):
        """Try every server once; raise the last error if none accepted us."""
        err = None
        for _ in range(len(self._servers)):
            try:
                self._open()
                return self
            except (OSError, NATSError) as e:
                self._drop()
                err = e
        raise err

    def _open(self):
        """Connect to the next server and handshake, waiting in poll (at most the timeout for each answer)."""
        for _ in self._opening():
            if not self._input(self._timeout_ms):
                raise OSError("no response from server")

    def _opening(self):
        """Connect to the next server in the list (which rotates), handshake, restore state.

        A generator: it yields whenever it waits for the server (the connect itself included, which runs
        non-blocking), so that unats.aio can wait in its event loop where the blocking client polls. Its
        frame is allocated at each attempt, so its work is done in plain methods and it keeps one local."""
        srv = self._dial()
        while self.info is None:  # the handshake fails on silence longer than the timeout
            yield
            if self._fill(0):
                self._parse()
        self._login(srv)
        while self._pongs < 1:
            yield
            if self._fill(0):
                self._parse()
        for sid in self._subs:  # from here on nothing waits: no publish can slip in before the outbox
            self._wr(self._sub_cmd(sid))
        while self._outbox:  # oldest first; an item leaves the outbox only once written
            self._wr(self._outbox[0])
            self._outbox.pop(0)
        self.reconnects += 1
        self._attempts = 0
        self._last_rx = ticks_ms()

    def _dial(self):
        """Start a non-blocking connect to the next server; return its entry of the server list."""
        srv = self._servers.pop(0)
        self._servers.append(srv)
        addr = socket.getaddrinfo(srv[1], srv[2], 0, socket.SOCK_STREAM)[0]
        sock = socket.socket(addr[0], socket.SOCK_STREAM)
        self._sock = sock  # closed by the caller if anything below fails
        sock.setblocking(False)
        try:
            sock.connect(addr[-1])
        except OSError as e:  # in progress; a refused connect shows when the server's INFO is read
            if e.errno != EINPROGRESS:
                raise
        self._use(sock)
        self._n = self._pos = self._pongs = 0
        self.info = None
        return srv

    def _login(self, srv):
        """After the server's INFO: TLS if asked for, then CONNECT and the PING whose PONG ends the handshake."""
        tls, host, _, user, password = srv
        name, c_user, c_password, token, ctx, _ = self._opts
        sock = self._sock
        if tls or self.info.get("tls_required"):
            self._poll.unregister(sock)  # before wrapping: CPython detaches the plain socket
            self._polled = None  # a failed handshake then closes the socket without polling it again
            sock.settimeout(self._timeout_ms / 1000)  # the TLS handshake runs blocking, bounded
            from unats.extra import wrap_tls

            self._use(wrap_tls(sock, host, ctx))
        elif not MICROPYTHON:
            sock.settimeout(self._timeout_ms / 1000)  # CPython's sendall then waits, bounded, for a full buffer
        hdrs = bool(self.info.get("headers"))
        self._wr(b'CONNECT {"verbose":false,"pedantic":false,"protocol":1')
        self._field("lang", sys.implementation.name)
        self._field("version", VERSION)
        self._field("headers", hdrs)
        self._field("no_responders", hdrs)
        if name:
            self._field("name", name)
        user, password = user or c_user, password or c_password
        if password is not None:
            self._field("user", user)
            self._field("pass", password)
        elif user or token:
            self._field("auth_token", user or token)
        self._pings = 1
        self._wr(b"}\r\nPING\r\n")

    def _field(self, key, value):
        """Write one field of CONNECT. Short writes: the whole line would need a contiguous block of heap that
        a small heap, fragmented by the time it reconnects, may not have."""
        self._wr(b',"%s":%s' % (key.encode(), json.dumps(value).encode()))

    def _use(self, sock):
        self._poll.register(sock, select.POLLIN)
        self._polled = self._sock = sock
        if MICROPYTHON:  # a blocking readinto waits for a full buffer, so read and write non-blocking
            sock.setblocking(False)

    def _wr(self, data):
        """Write all of data; CPython's sendall honours the timeout, MicroPython's socket is non-blocking."""
        if not MICROPYTHON:
            return self._sock.sendall(data)
        mv = memoryview(data)
        while mv:
            n = self._sock.write(mv)
            if n is None:  # send buffer full: wait until it drains
                self._poll.modify(self._sock, select.POLLOUT)
                for _ in self._poll.ipoll(self._timeout_ms):
                    break
                else:
                    raise OSError("write timed out")
                self._poll.modify(self._sock, select.POLLIN)
            else:
                mv = mv[n:]

    def _drop(self, err=None):
        """Close the socket. With an error the connection broke: report why, and reconnect on the next call
        that drives I/O."""
        if self._polled is not None:
            self._poll.unregister(self._polled)
            self._polled = None
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None
        if err is None:
            return
        self.last_error = err
        self._next_try = ticks_ms()
        if not self._reconnect:
            self._closed = True
        if self._error_cb:
            self._error_cb(err)

    @property
    def is_connected(self):
        """True once the handshake is done (unats.aio runs it while other tasks publish)."""
        return self._sock is not None and self._pongs > 0

    def link_lost(self):
        """The application knows the network is gone (its Wi-Fi dropped): give up the connection now, so that
        publishes wait in the outbox instead of going into a socket nothing will read, and reconnect later."""
        if self._sock is not None:
            self._drop(OSError("network link lost"))

    def close(self):
        self._drop()
        self._closed = True

    # -- sending ---------------------------------------------------------------------------------

    def _send(self, *parts):
        """Write now if connected; False when not connected (a failed write drops the connection)."""
        if not self.is_connected:
            return False
        try:
            for part in parts:  # separate writes spare a joined copy of the payload
                self._wr(part)
            return True
        except OSError as e:
            self._drop(e)
            return False

    def publish(self, subject, data=b"", reply=None, headers=None):
        if self._closed:
            from unats.extra import ClosedError

            raise ClosedError("connection closed")
        if isinstance(data, str):
            data = data.encode()
        subject = subject.encode()
        if reply:
            subject += b" " + reply.encode()
        info = self.info or {}  # None until a handshake succeeds; meanwhile publishes wait in the outbox
        if headers:
            if info and not info.get("headers"):
                raise NATSError("server does not support headers")
            from unats.extra import encode_headers

            hdr = encode_headers(headers)
            size = len(hdr) + len(data)
            head = b"HPUB %s %d %d\r\n%s" % (subject, len(hdr), size, hdr)
        else:
            size = len(data)
            head = b"PUB %s %d\r\n" % (subject, size)
        if size > info.get("max_payload", 1048576):
            raise NATSError("payload larger than the server's max_payload")
        # A small message goes in one write: written in parts, Nagle's algorithm would hold the payload
        # until the broker acks the line, and a delayed ack costs each round trip ~40 ms (a PubAck wait).
        parts = (head + data + b"\r\n",) if size <= JOIN_LIMIT else (head, data, b"\r\n")
        if not self._send(*parts):
            if not self._reconnect:
                from unats.extra import ClosedError

                raise ClosedError("not connected")
            cmd = parts[0] if len(parts) == 1 else head + data + b"\r\n"
            if self._outbox is None:
                self._outbox = []
            if sum(map(len, self._outbox)) + len(cmd) > self._outbox_size:
                from unats.extra import OutboxFullError

                raise OutboxFullError("outbox full: publish to %s not queued" % subject.decode())
            self._outbox.append(cmd)

    def _sub_cmd(self, sid):
        subject, queue, _, max_msgs, received = self._subs[sid]
        cmd = "SUB %s %s%d\r\n" % (subject, queue + " " if queue else "", sid)
        if max_msgs:
            cmd += "UNSUB %d %d\r\n" % (sid, max_msgs - received)
        return cmd.encode()

    def subscribe(self, subject, cb=None, queue=None):
        if self._closed:
            from unats.extra import ClosedError

            raise ClosedError("connection closed")
        self._sid += 1
        self._subs[self._sid] = [subject, queue, cb, 0, 0]
        self._send(self._sub_cmd(self._sid))
        return self._sid

    def unsubscribe(self, sid, max_msgs=None):
        sub = self._subs.get(sid)
        if sub is None:
            return
        if max_msgs and sub[4] < max_msgs:
            sub[3] = max_msgs
            self._send(b"UNSUB %d %d\r\n" % (sid, max_msgs))
        else:
            del self._subs[sid]
            self._send(b"UNSUB %d\r\n" % sid)

    def _ask(self, subject, data, headers):
        """Publish a request; return its token, the key of its reply in _replies (None until it arrives).

        The reply inbox and its one wildcard subscription are made on the first request."""
        if self._inbox is None:
            # under inbox_prefix: a per-device prefix lets the device's permissions allow only its own replies
            self._inbox = "%s.%08x%08x." % (self._opts[5], random.getrandbits(32), random.getrandbits(32))
            self._replies = {}
            Client.subscribe(self, self._inbox + "*", self._on_reply)  # not a subclass's coroutine
        self._sid += 1  # sids are never reused, so the counter gives unique tokens too
        token = str(self._sid)
        Client.publish(self, subject, data, self._inbox + token, headers)
        self._replies[token] = None  # after publish: a reply can only arrive once we read again
        return token

    def _on_reply(self, msg):
        token = msg.subject[len(self._inbox):]
        if token in self._replies:
            self._replies[token] = msg

    def request(self, subject, data=b"", timeout=2.0, headers=None):
        token = self._ask(subject, data, headers)
        try:
            deadline = ticks_add(ticks_ms(), int(timeout * 1000))
            while self._replies[token] is None:
                left = ticks_diff(deadline, ticks_ms())
                if left <= 0:
                    from unats.extra import TimeoutError

                    raise TimeoutError("request to %s timed out" % subject)
                self._step(left)
            msg = self._replies[token]
        finally:
            del self._replies[token]
        if msg.status == 503 and not msg.data:
            from unats.extra import NoRespondersError

            raise NoRespondersError("no responders for %s" % subject)
        return msg

    def flush(self, timeout=2.0):
        """Block until the server has processed everything sent so far (a PING answered by PONG)."""
        deadline = ticks_add(ticks_ms(), int(timeout * 1000))
        conn = target = None
        while conn != self.reconnects or self._pongs < target:
            if self._sock is not None and conn != self.reconnects:
                conn, target = self.reconnects, self._pings + 1
                self._pings += 1
                self._send(b"PING\r\n")
            left = ticks_diff(deadline, ticks_ms())
            if left <= 0:
                from unats.extra import TimeoutError

                raise TimeoutError("flush timed out")
            self._step(left)

    # -- receiving -------------------------------------------------------------------------------

    def check_msg(self):
        """Process whatever has arrived without blocking; return the last message processed or None."""
        return self._step(0)

    def wait_msg(self, timeout=None):
        """Block until a message is processed (returned) or the timeout in seconds passes (None)."""
        deadline = None if timeout is None else ticks_add(ticks_ms(), int(timeout * 1000))
        while True:
            left = 1000 if deadline is None else ticks_diff(deadline, ticks_ms())
            msg = self._step(max(left, 0))
            if msg is not None or left <= 0:
                return msg

    def _step(self, ms):
        """Wait up to ms for input (or for the next reconnect attempt) and process it; return the last message.

        Callbacks run here, outside the handling of network errors: what a callback raises reaches the caller
        (check_msg, wait_msg, request, flush) and the connection stays up. Input after that message stays
        in the buffer for the next call."""
        if self._sock is None:
            if self._closed:
                from unats.extra import ClosedError

                raise ClosedError("connection closed")
            wait = ticks_diff(self._next_try, ticks_ms())
            if wait > 0:
                sleep_ms(min(wait, ms))
                return None
            try:
                self._open()
            except (OSError, NATSError) as e:
                self._retry_later(e)
            return None
        msg = self._next(ms)
        last = None
        while msg is not None:
            last = msg
            sub = self._subs[msg.sid]
            sub[4] += 1
            if sub[3] and sub[4] >= sub[3]:
                del self._subs[msg.sid]
            if sub[2]:
                sub[2](msg)
            msg = self._next(-1)
        return last

    def _retry_later(self, err):
        """A connection attempt failed: schedule the next one with back-off and jitter, or give up."""
        self._drop()
        self.last_error = err
        self._attempts += 1
        base, most, limit = self._backoff
        if 0 <= limit <= self._attempts:
            self._closed = True
            return
        delay = min(most, base << min(self._attempts, 16))
        self._next_try = ticks_add(ticks_ms(), delay // 2 + random.getrandbits(16) % (delay // 2 + 1))

    def _next(self, ms):
        """The next complete message: one already buffered, else one read within ms (not read when ms < 0).
        None if there is none; a broken connection is dropped (and reconnected later)."""
        try:
            msg = self._parse()
            if msg is None and ms >= 0 and self._sock is not None:
                if ticks_diff(ticks_ms(), self._last_rx) > self._ping_ms:
                    if self._pings - self._pongs >= 2:
                        raise OSError("stale connection: server did not answer PING")
                    self._pings += 1
                    self._last_rx = ticks_ms()
                    self._wr(b"PING\r\n")
                if self._fill(ms):
                    msg = self._parse()
            return msg
        except (OSError, ProtocolError) as e:
            self._drop(e)
        return None

    def _input(self, ms):
        """True once the socket has something to read (or an error to report), waiting at most ms."""
        pending = getattr(self._sock, "pending", None)  # CPython TLS may hold decrypted bytes poll does not see
        if pending and pending():
            return True
        for _ in self._poll.ipoll(ms) if MICROPYTHON else self._poll.poll(ms):  # ipoll does not allocate
            return True
        return False

    def _fill(self, ms):
        """Wait up to ms for bytes and append them to the buffer; False if nothing arrived."""
        if self._pos:  # keep only the unparsed tail, at the front
            rest = self._n - self._pos
            self._mv[:rest] = self._mv[self._pos:self._n]
            self._n, self._pos = rest, 0
        if self._n == len(self._buf):
            raise ProtocolError("control line longer than the %d-byte receive buffer" % self._n)
        if not self._input(ms):
            return False
        free = self._mv[self._n:]
        n = self._sock.readinto(free) if MICROPYTHON else self._sock.recv_into(free)
        if n is None:  # MicroPython TLS: readable socket, but no complete record yet
            return False
        if not n:
            raise OSError("connection closed by server")
        self._n += n
        self._last_rx = ticks_ms()
        return True

    def _parse(self):
        """Handle the complete operations in the buffer up to the first message for a subscription; return
        that message (its callback not yet run), or None when the buffer holds no complete message."""
        buf, mv = self._buf, self._mv
        while True:
            p = self._pos
            end = buf.find(b"\r\n", p, self._n)
            if end < 0:
                return None
            c = buf[p]
            if c == 77 or c == 72:  # MSG / HMSG
                msg = self._parse_msg(p, end, c == 72)
                if msg is False:
                    return None  # payload not complete yet
                if msg:
                    return msg
                continue
            self._pos = end + 2
            if buf[p:p + 4] == b"PING":
                self._wr(b"PONG\r\n")
            elif buf[p:p + 4] == b"PONG":
                self._pongs += 1
            elif buf[p:p + 5] == b"INFO ":
                self._read_info(p + 5, end)
            elif buf[p:p + 4] == b"-ERR":
                err = bytes(mv[p + 4:end]).decode().strip().strip("'")
                if not self._pongs:  # in the handshake
                    from unats.extra import AuthError

                    raise (AuthError if "auth" in err.lower() else NATSError)(err)
                self.last_error = NATSError(err)
                if self._error_cb:
                    self._error_cb(self.last_error)
            elif buf[p:p + 3] != b"+OK":
                raise ProtocolError("unexpected data from server: %r" % bytes(mv[p:min(end, p + 20)]))

    def _read_info(self, p, end):
        """Take the INFO fields the client uses straight from the buffer, without decoding the JSON object:
        json.loads would build a dict of every field the server sends, 1.9 KB that a small heap cannot spare."""
        buf = self._buf
        while buf[end - 1] == 32:  # nats-server ends INFO with "} "
            end -= 1
        if buf[p] != 123 or buf[end - 1] != 125:
            raise ProtocolError("INFO is not valid JSON")
        info = self.info or {}
        for key in ("max_payload", "headers", "tls_required"):
            i = buf.find(b'"%s":' % key.encode(), p, end)
            if i < 0:
                continue
            i += len(key) + 3
            while buf[i] == 32:
                i += 1
            if buf[i] == 116 or buf[i] == 102:  # true / false
                info[key] = buf[i] == 116
            else:
                n = 0
                while 48 <= buf[i] <= 57:
                    n = n * 10 + buf[i] - 48
                    i += 1
                info[key] = n
        self.info = info

    def _parse_msg(self, p, end, has_headers):
        """Parse one MSG/HMSG: the Msg (None if its subscription is gone), False if incomplete."""
        args = bytes(self._mv[p:end]).split()
        try:
            if (len(args) - has_headers) not in (4, 5) or args[0] != (b"HMSG" if has_headers else b"MSG"):
                raise ValueError
            total = int(args[-1])
            hlen = int(args[-2]) if has_headers else 0
            sid = int(args[2])
            if not 0 <= hlen <= total:
                raise ValueError
        except ValueError:
            raise ProtocolError("bad message line: %r" % bytes(self._mv[p:min(end, p + 40)])) from None
        start = end + 2
        stop = start + total + 2
        if stop - p > len(self._buf):
            raise ProtocolError("%d-byte message does not fit the %d-byte receive buffer"
                                % (total, len(self._buf)))
        if stop > self._n:
            return False
        if self._buf[stop - 2] != 13 or self._buf[stop - 1] != 10:
            raise ProtocolError("message payload not followed by CRLF")
        self._pos = stop
        sub = self._subs.get(sid)
        if sub is None:
            return None  # unsubscribed while the message was in flight
        status = headers = None
        try:  # invalid UTF-8 in the subject or headers is bad input too
            if hlen:
                from unats.extra import parse_headers

                status, headers = parse_headers(bytes(self._mv[start:start + hlen]))
            reply = args[3].decode() if len(args) - has_headers == 5 else None
            subject = args[1].decode()
        except ValueError:
            raise ProtocolError("undecodable message line or headers") from None
        return Msg(subject, bytes(self._mv[start + hlen:stop - 2]), reply, headers, status, sid)


def connect(servers, **kwargs):
    """Connect to the first server (of a URL or list of URLs) that accepts us; return the Client."""
    return Client(servers, **kwargs).connect()
