"""A connection's byte plumbing: reads into a parser, an outbound buffer flushed once per read (output
queued outside a read: once per loop turn), PING/PONG keepalive, the slow-consumer cut-offs (pending
bytes, write deadline), reporting pending bytes to the back-pressure on publishers (and stalling a
publisher whose input went to a receiver behind), and closing.

Subclasses (client sessions, leaf links) provide the parser and the protocol meaning. Everything the
plumbing needs from outside is the small `ConnectionHost` interface below, handed in at creation:
whoever listens (the TCP client port, a leaf port, a WebSocket listener) can create connections.

Write states (the transport pauses us when its buffer passes its high-water mark):
  FLOWING  the transport takes what we write
  BLOCKED  paused; the write deadline runs
  SLOW     (retry policy only) a deadline passed: flagged a slow consumer and kept; the next deadline
           that passes without a single byte written closes the connection
A deadline that passes under the close policy (clients, as in nats-server) cuts the connection off.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import socket
import time
from enum import Enum
from typing import Protocol

from edgenats.backpressure import Backpressure
from edgenats.logs import TRACE
from edgenats.protocol.errors import ProtocolViolation
from edgenats.protocol.framing import PING, error_line

log = logging.getLogger("edgenats")

# The first keepalive PING goes out after at most this long (nats-server's first-ping cap).
_FIRST_PING_CAP = 2.0


class WriteTimeout(Enum):
    """What a write deadline that passes does: nats-server's `write_timeout` policies."""

    CLOSE = "close"
    RETRY = "retry"


class WriteState(Enum):
    FLOWING = "flowing"
    BLOCKED = "blocked"
    SLOW = "slow"


class ConnectionLimits(Protocol):
    """The settings the plumbing enforces; read at use, so a config reload applies at once."""

    max_pending: int
    write_deadline: float
    ping_interval: float
    ping_max: int


class ConnectionHost(Protocol):
    """What a connection needs from whoever accepted it."""

    loop: asyncio.AbstractEventLoop
    options: ConnectionLimits
    # -V: every protocol line is logged.
    tracing: bool
    # Connections due for keepalive checks (one shared sweep, not a timer each).
    keepalive: set
    # Receivers behind and the publishers paused for them.
    backpressure: Backpressure
    slow_consumers: int
    stale_connections: int

    def next_connection_id(self) -> int: ...

    def mark_dirty(self, connection: Connection) -> None:
        """`connection` has queued output: call its flush() once, when the read being handled ends
        (else after this loop turn)."""

    def read_begins(self) -> None:
        """A connection's read is being handled: what it queues is flushed at `read_ends`."""

    def read_ends(self) -> None: ...


class Connection(asyncio.Protocol):
    kind = "Connection"
    __slots__ = (
        "server",
        "cid",
        "transport",
        "out",
        "closed",
        "close_reason",
        "host",
        "port",
        "start_time",
        "last_activity",
        "in_msgs",
        "in_bytes",
        "out_msgs",
        "out_bytes",
        "pings_outstanding",
        "rtt",
        "_ping_sent_at",
        "_received_since_ping",
        "next_ping_at",
        "_deadline_timer",
        "write_state",
        "handed",
        "_written_mark",
        "parser",
    )

    # Leaf links override this; deliverers check it only when building plans or routing LMSG.
    leaf_link = False
    # Internal subscribers (no socket) say True; delivery plans keep them apart.
    internal = False

    def __init__(self, server: ConnectionHost) -> None:
        self.server = server
        self.cid = server.next_connection_id()
        self.transport: asyncio.Transport | None = None
        self.out: list = []
        self.closed = False
        self.close_reason = ""
        self.host = ""
        self.port = 0
        self.start_time = time.time()
        self.last_activity = self.start_time
        self.in_msgs = 0
        self.in_bytes = 0
        self.out_msgs = 0
        self.out_bytes = 0
        self.pings_outstanding = 0
        self.rtt = 0.0
        self._ping_sent_at = 0.0
        self._received_since_ping = False
        self.next_ping_at = math.inf
        self._deadline_timer: asyncio.TimerHandle | None = None
        self.write_state = WriteState.FLOWING
        # Bytes handed to the transport; less what it still buffers, what the socket took.
        self.handed = 0
        self._written_mark = 0
        self.parser = None

    # asyncio.Protocol -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername")
        if peer:
            self.host, self.port = peer[0], peer[1]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.on_open()

    def data_received(self, data: bytes) -> None:
        self._received_since_ping = True
        self.last_activity = time.time()
        if self.server.tracing:
            self._trace("<<-", data)
        backpressure = self.server.backpressure
        before = backpressure.output_of_behind() if backpressure.behind and not self.leaf_link else None
        self.server.read_begins()
        try:
            self.parser.feed(data)
        except ProtocolViolation as violation:
            self.protocol_violation(violation)
        finally:
            if before is not None:
                backpressure.check(self, before)
            self.server.read_ends()

    def connection_lost(self, exc: Exception | None) -> None:
        self.close(self.close_reason or "Client Closed", flush=False)

    def pause_writing(self) -> None:
        self.write_state = WriteState.BLOCKED
        deadline, _ = self.write_timeout()
        self._deadline_timer = self.server.loop.call_later(deadline, self._write_deadline_passed)
        self._check_pending()

    def resume_writing(self) -> None:
        self.server.backpressure.drained(self)
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
            self._deadline_timer = None
        if self.write_state is WriteState.SLOW:
            log.info("%s - Slow Consumer Recovered", self.describe())
        self.write_state = WriteState.FLOWING

    # hooks for subclasses ----------------------------------------------------------------------

    def on_open(self) -> None:
        raise NotImplementedError

    def on_close(self) -> None:
        raise NotImplementedError

    def write_timeout(self) -> tuple[float, WriteTimeout]:
        """The write deadline and what passing it does; clients: the server's deadline, closed."""
        return self.server.options.write_deadline, WriteTimeout.CLOSE

    def count_slow_consumer(self) -> None:
        self.server.slow_consumers += 1

    def outbound(self, data: bytes) -> bytes:
        """What of this loop turn's output to write; clients write it all (their cut-off is max_pending)."""
        return data

    # output ------------------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        if not self.out:
            self.server.mark_dirty(self)
        self.out.append(data)

    def flush(self) -> None:
        """Write what was queued this loop turn in one call; cut off a consumer that fell too far behind."""
        out = self.out
        if not out or self.closed:
            out.clear()
            return
        # One joined write: cheaper than writelines on every loop implementation and Python version.
        data = self.outbound(b"".join(out))
        out.clear()
        if self.server.tracing:
            self._trace("->>", data)
        self.handed += len(data)
        # As a view, what the socket does not take at once is copied into the transport's buffer once,
        # not sliced off into new bytes first.
        self.transport.write(memoryview(data))
        if self.write_state is not WriteState.FLOWING:
            self._check_pending()
            if not self.closed:
                self.server.backpressure.pending_changed(
                    self, self.transport.get_write_buffer_size(), self.server.options.max_pending)

    def _check_pending(self) -> None:
        if self.transport.get_write_buffer_size() > self.server.options.max_pending:
            log.info("%s - Slow Consumer Detected: MaxPending of %d Exceeded",
                     self.describe(), self.server.options.max_pending)
            self.count_slow_consumer()
            self.abort("Slow Consumer (Pending Bytes)")

    def _write_deadline_passed(self) -> None:
        self._deadline_timer = None
        if self.closed:
            return
        deadline, policy = self.write_timeout()
        self.count_slow_consumer()
        written = self.handed - self.transport.get_write_buffer_size()
        if policy is WriteTimeout.CLOSE:
            log.info("%s - Slow Consumer Detected: WriteDeadline of %ss exceeded", self.describe(), deadline)
            self.abort("Slow Consumer (Write Deadline)")
            return
        if self.write_state is WriteState.SLOW and written <= self._written_mark:
            log.info("%s - Slow Consumer State: WriteDeadline of %gs exceeded with nothing written, closing",
                     self.describe(), deadline)
            self.abort("Slow Consumer (Write Deadline)")
            return
        state = "State" if self.write_state is WriteState.SLOW else "Detected"
        log.info("%s - Slow Consumer %s: WriteDeadline of %gs exceeded with %d bytes pending", self.describe(),
                 state, deadline, self.transport.get_write_buffer_size())
        self.write_state = WriteState.SLOW
        self._written_mark = written
        self._deadline_timer = self.server.loop.call_later(deadline, self._write_deadline_passed)

    # keepalive ---------------------------------------------------------------------------------

    def start_keepalive(self, session_up: bool = True) -> None:
        """Join the server's keepalive sweep (one timer for all connections, not one each). Before the
        session is up (a client before its CONNECT) the first PING is due after `ping_interval`; once it
        is, after at most 2 s plus a random 0-20 %, as nats-server."""
        interval = self.server.options.ping_interval
        first = min(interval, _FIRST_PING_CAP) * (1.0 + random.random() * 0.2) if session_up else interval
        self.next_ping_at = self.server.loop.time() + first
        self.server.keepalive.add(self)

    def stop_keepalive(self) -> None:
        self.server.keepalive.discard(self)

    def ping_due(self, now: float) -> None:
        options = self.server.options
        # Traffic stands in for a PONG once a round trip was measured (nats-server's rule): until then a
        # peer that sends bytes but never answers (half a CONNECT line) is pinged and goes stale.
        if self._received_since_ping and self.pings_outstanding == 0 and self.rtt:
            self._received_since_ping = False
        elif self.pings_outstanding + 1 > options.ping_max:
            self.server.stale_connections += 1
            log.debug("%s - Stale Client Connection - Closing", self.describe())
            self.close("Stale Connection", error_text="Stale Connection")
            return
        else:
            self._received_since_ping = False
            self.pings_outstanding += 1
            self._ping_sent_at = time.monotonic()
            self.send(PING)
        self.next_ping_at = now + options.ping_interval

    def pong_received(self) -> None:
        if self.pings_outstanding:
            self.rtt = time.monotonic() - self._ping_sent_at
        self.pings_outstanding = 0

    # closing -----------------------------------------------------------------------------------

    def protocol_violation(self, violation: ProtocolViolation) -> None:
        log.debug("%s - %s", self.describe(), violation)
        self.close(violation.reason, error_text=violation.wire_text)

    def close(self, reason: str, error_text: str | None = None, flush: bool = True) -> None:
        """Close after writing what is queued (and an -ERR first, when given)."""
        if self.closed:
            return
        if error_text is not None:
            self.send(error_line(error_text))
        if flush and self.transport is not None:
            self.flush()
        self._finish(reason)
        if self.transport is not None:
            self.transport.close()

    def abort(self, reason: str) -> None:
        """Close at once, discarding queued output (slow consumers)."""
        if self.closed:
            return
        self.out.clear()
        self._finish(reason)
        self.transport.abort()

    def _finish(self, reason: str) -> None:
        self.closed = True
        self.close_reason = reason
        if self.parser is not None:
            self.parser.stop()
        self.stop_keepalive()
        self.server.backpressure.forget(self)
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
        self.on_close()

    def _trace(self, direction: str, data: bytes) -> None:
        """-V: the raw protocol, one log line per protocol line (payloads included)."""
        for line in data.split(b"\r\n"):
            if line:
                log.log(TRACE, "%s - %s [%s]", self.describe(), direction, line.decode("latin-1"))

    def describe(self) -> str:
        return f"{self.host}:{self.port} - cid:{self.cid}"
