"""A raw-socket NATS client for byte-exact protocol tests.

It connects to 127.0.0.1, reads the INFO line, sends bytes and reads until a pattern or EOF, always
with generous timeouts; failures report the bytes actually seen. It also parses server output into
operations so tests can check streams of MSG/HMSG/+OK/-ERR/PONG.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass

TIMEOUT = 5.0

# Every -ERR text nats-server 2.x sends on a client port (spec §9), split by whether it closes.
CLOSING_ERRORS = frozenset(
    {
        "Unknown Protocol Operation",
        "Authorization Violation",
        "Authentication Timeout",
        "Maximum Payload Violation",
        "maximum control line exceeded",
        "maximum connections exceeded",
        "invalid client protocol",
        "no responders requires headers support",
        "Stale Connection",
    }
)
OPEN_ERRORS = frozenset({"Invalid Subject", "Invalid Publish Subject", "maximum subscriptions exceeded"})


class RawClient:
    """One TCP connection to a broker, with a receive buffer that keeps unread bytes."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = bytearray()
        self.info: dict | None = None
        self.eof = False

    @classmethod
    def open(cls, port: int, rcvbuf: int | None = None) -> RawClient:
        """Connect without reading anything."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            # Must be set before connect() so the advertised TCP window stays small.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(TIMEOUT)
        sock.connect(("127.0.0.1", port))
        return cls(sock)

    @classmethod
    def connect(cls, port: int, rcvbuf: int | None = None) -> RawClient:
        """Connect and read the initial INFO."""
        client = cls.open(port, rcvbuf)
        client.read_info()
        return client

    @classmethod
    def handshake(cls, port: int, **options) -> RawClient:
        """Connect, send CONNECT (verbose off unless given) + PING and consume the reply."""
        client = cls.connect(port)
        client.send_connect(**options)
        client.send(b"PING\r\n")
        client.expect(b"+OK\r\nPONG\r\n" if options.get("verbose") else b"PONG\r\n")
        return client

    def send_connect(self, **options) -> None:
        options.setdefault("verbose", False)
        self.send(b"CONNECT " + json.dumps(options).encode() + b"\r\n")

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, deadline: float) -> bool:
        """Receive more bytes; False on EOF or reset. Raises TimeoutError at the deadline."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    def read_info(self) -> dict:
        line = self.read_until(b"\r\n")
        assert line.startswith(b"INFO "), f"first bytes are not INFO: {line!r}"
        self.info = json.loads(line[5:])
        return self.info

    def read_until(self, pattern: bytes, timeout: float = TIMEOUT) -> bytes:
        """Return every byte up to and including the first `pattern`; later bytes stay buffered."""
        deadline = time.monotonic() + timeout
        while (index := self.buffer.find(pattern)) < 0:
            try:
                if not self._fill(deadline):
                    raise AssertionError(f"EOF before {pattern!r}; seen {bytes(self.buffer)!r}")
            except TimeoutError:
                seen = bytes(self.buffer)
                raise AssertionError(f"no {pattern!r} within {timeout}s; seen {seen!r}") from None
        end = index + len(pattern)
        found = bytes(self.buffer[:end])
        del self.buffer[:end]
        return found

    def read_exactly(self, count: int, timeout: float = TIMEOUT) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self.buffer) < count:
            try:
                if not self._fill(deadline):
                    break
            except TimeoutError:
                break
        found = bytes(self.buffer[:count])
        del self.buffer[:count]
        return found

    def expect(self, expected: bytes, timeout: float = TIMEOUT) -> None:
        """Assert that the next bytes on the wire are exactly `expected`."""
        seen = self.read_exactly(len(expected), timeout)
        assert seen == expected, f"expected {expected!r}\n    seen {seen!r}"

    def read_until_eof(self, timeout: float = TIMEOUT, limit: int | None = None) -> bytes:
        """Return all bytes until the server closes; fail if it stays open past `timeout`.

        With `limit`, fail once more than that many bytes arrived (a server that keeps sending).
        """
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                if limit is not None and len(self.buffer) > limit:
                    raise AssertionError(f"server still sending after {len(self.buffer)} bytes")
        except TimeoutError:
            raise AssertionError(
                f"connection still open after {timeout}s; seen {bytes(self.buffer[:500])!r}"
            ) from None
        found = bytes(self.buffer)
        self.buffer.clear()
        return found

    def fence(self, timeout: float = TIMEOUT) -> bytes:
        """Send PING and return everything received before its PONG (the PONG itself excluded).

        The server answers in order, so this is every reply to what was sent before.
        """
        self.send(b"PING\r\n")
        return self._answer_keepalives(self.read_until(b"PONG\r\n", timeout)[: -len(b"PONG\r\n")])

    def _answer_keepalives(self, data: bytes) -> bytes:
        """Answer and drop PINGs the server interleaved: they are keepalives, not replies."""
        if b"PING\r\n" not in data:
            return data
        try:
            spans = list(iter_operations(data))
        except ValueError:
            return data
        kept = []
        for op, start, end in spans:
            if op == "PING":
                self.send(b"PONG\r\n")
            else:
                kept.append(data[start:end])
        return b"".join(kept)

    def read_messages(self, count: int, timeout: float = TIMEOUT) -> list[Message]:
        """Read `count` MSG/HMSG operations, answering server PINGs and failing on anything else."""
        deadline = time.monotonic() + timeout
        messages: list[Message] = []
        while len(messages) < count:
            ops, used = parse_operations(bytes(self.buffer), partial_ok=True)
            if used:
                del self.buffer[:used]
                for op in ops:
                    if op == "PING":
                        self.send(b"PONG\r\n")
                        continue
                    assert isinstance(op, Message), f"expected a message, got {op!r}"
                    messages.append(op)
                continue
            try:
                if not self._fill(deadline):
                    raise AssertionError(f"EOF after {len(messages)} of {count} messages")
            except TimeoutError:
                raise AssertionError(f"only {len(messages)} of {count} messages within {timeout}s") from None
        return messages


@dataclass
class Message:
    """A MSG or HMSG delivered by the server."""

    subject: str
    sid: str
    reply: str | None
    headers: bytes | None
    payload: bytes


def parse_operations(data: bytes, partial_ok: bool = False) -> tuple[list, int]:
    """Split server output into operations: Message, ("-ERR", text), ("INFO", dict) or the verb string.

    Returns the operations and the number of bytes consumed. Raises ValueError on anything a
    conforming server would not send; an incomplete trailing operation raises unless `partial_ok`.
    """
    ops = []
    consumed = 0
    for op, _, end in iter_operations(data, partial_ok):
        ops.append(op)
        consumed = end
    return ops, consumed


def iter_operations(data: bytes, partial_ok: bool = False):
    """Yield (operation, start, end) for each complete server operation in `data`."""
    pos = 0
    while pos < len(data):
        line_end = data.find(b"\r\n", pos)
        if line_end < 0:
            if partial_ok:
                return
            raise ValueError(f"incomplete operation at end: {data[pos:pos + 200]!r}")
        line = data[pos:line_end]
        if b"\n" in line or b"\r" in line:
            raise ValueError(f"line not terminated by CRLF: {line[:200]!r}")
        end = line_end + 2
        if line in (b"+OK", b"PONG", b"PING"):
            op = line.decode()
        elif line.startswith(b"-ERR '") and line.endswith(b"'"):
            op = ("-ERR", line[6:-1].decode("latin-1"))
        elif line.startswith(b"INFO "):
            op = ("INFO", json.loads(line[5:]))
        elif line.startswith((b"MSG ", b"HMSG ")):
            op, end = _parse_message(data, line, end)
            if op is None:
                if partial_ok:
                    return
                raise ValueError(f"incomplete message at end: {data[pos:pos + 200]!r}")
        else:
            raise ValueError(f"not a server operation: {line[:200]!r}")
        yield op, pos, end
        pos = end


def _parse_message(data: bytes, line: bytes, body_start: int) -> tuple[Message | None, int]:
    # Canonical output uses exactly one space between arguments (spec §1.3).
    # Subjects are arbitrary bytes; latin-1 maps each byte to one character.
    verb, *args = line.decode("latin-1").split(" ")
    header_size = 0
    if verb == "HMSG":
        if len(args) not in (4, 5):
            raise ValueError(f"bad HMSG line {line!r}")
        header_size = int(args[-2])
    elif len(args) not in (3, 4):
        raise ValueError(f"bad MSG line {line!r}")
    total = int(args[-1])
    end = body_start + total + 2
    if len(data) < end:
        return None, body_start
    if data[end - 2 : end] != b"\r\n":
        raise ValueError(f"payload of {line!r} not followed by CRLF")
    body = data[body_start : body_start + total]
    reply = args[2] if len(args) == (5 if verb == "HMSG" else 4) else None
    headers = body[:header_size] if verb == "HMSG" else None
    return Message(args[0], args[1], reply, headers, body[header_size:]), end
