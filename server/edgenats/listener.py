"""A listening TCP port whose accept loop the broker runs itself, so that running out of file descriptors
is survived quietly instead of in a log storm.

asyncio's own accept loop answers EMFILE with a traceback for every queued connection and retries in a
tight loop. Here, when accept() fails for lack of descriptors (EMFILE, ENFILE, ENOBUFS, ENOMEM), the
port refuses what is queued (a spare descriptor, kept open for this, is closed to accept each pending
connection and close it at once, so clients learn at once instead of timing out in the kernel's queue),
counts it, pauses accepting with a back-off (10 ms doubling up to 1 s, as nats-server) and logs once when
it starts, once every `LOG_INTERVAL` while it lasts (with the number refused) and once when it is over.

States: ACCEPTING -> STARVED (out of descriptors; paused between retries) -> ACCEPTING; CLOSED at the end.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import time
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl

log = logging.getLogger("edgenats")

LOG_INTERVAL = 10.0
_FIRST_BACKOFF = 0.01
_MAX_BACKOFF = 1.0
_OUT_OF_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
# The kernel's queue of connections not accepted yet, and accepts per readable event.
_BACKLOG = 1024
_BATCH = 128


class AcceptState(Enum):
    ACCEPTING = "accepting"
    STARVED = "starved"
    CLOSED = "closed"


def bind_listening_socket(host: str | None, port: int) -> socket.socket:
    """A bound, non-blocking socket, not listening yet (connects are refused until `Listener.start`);
    host None (or "") means every interface, IPv6 too when the system has dual-stack sockets."""
    if not host:
        dual_stack = socket.has_dualstack_ipv6()
        family, address = (socket.AF_INET6, ("::", port)) if dual_stack else (socket.AF_INET, ("0.0.0.0", port))
    else:
        # An ASCII name as bytes: a str goes through the idna codec, which loads unicodedata (0.4 MB).
        name = host.encode("ascii") if host.isascii() else host
        family, _, _, _, address = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM,
                                                      flags=socket.AI_PASSIVE)[0]
        dual_stack = False
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if dual_stack:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address[:2] if family == socket.AF_INET else address)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class Listener:
    """Accepts connections on `sock` for `protocol_factory` (optionally under TLS), once `start()` is called."""

    def __init__(self, loop: asyncio.AbstractEventLoop, name: str, sock: socket.socket,
                 protocol_factory: Callable[[], asyncio.BaseProtocol], ssl_context: ssl.SSLContext | None = None,
                 ssl_handshake_timeout: float | None = None) -> None:
        self.loop = loop
        self.name = name
        self.sock = sock
        self.port: int = sock.getsockname()[1]
        self._factory = protocol_factory
        self._ssl = ssl_context
        self._ssl_handshake_timeout = ssl_handshake_timeout
        self.state = AcceptState.ACCEPTING
        self._reading = False
        self._retry: asyncio.TimerHandle | None = None
        self._backoff = _FIRST_BACKOFF
        self._spare: int | None = _open_spare()
        # Connections refused for lack of descriptors: since the last log line, and in this episode.
        self._refused_unlogged = 0
        self._episode_refused = 0
        self._starved_since = 0.0
        self._logged_at = 0.0

    def start(self) -> None:
        """Listen and accept (again, after a pause)."""
        if self.state is not AcceptState.CLOSED and not self._reading:
            self.sock.listen(_BACKLOG)
            self.loop.add_reader(self.sock.fileno(), self._readable)
            self._reading = True

    def close(self) -> None:
        """Stop accepting; the port is released (a connect is refused by the system from now on)."""
        if self.state is AcceptState.CLOSED:
            return
        self.state = AcceptState.CLOSED
        self._pause()
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        self.sock.close()
        if self._spare is not None:
            os.close(self._spare)
            self._spare = None

    def _pause(self) -> None:
        if self._reading:
            self.loop.remove_reader(self.sock.fileno())
            self._reading = False

    def _readable(self) -> None:
        for _ in range(_BATCH):
            try:
                conn, _address = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue
            except OSError as error:
                if error.errno not in _OUT_OF_RESOURCES:
                    log.error("%s accept error: %s", self.name, error)
                    return
                self._starved(error)
                return
            if self.state is AcceptState.STARVED:
                self._recovered()
            conn.setblocking(False)
            self.loop.create_task(self._open(conn))

    async def _open(self, conn: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(
                self._factory, conn, ssl=self._ssl, ssl_handshake_timeout=self._ssl_handshake_timeout)
        except (TimeoutError, OSError) as error:  # ssl.SSLError is an OSError
            log.debug("%s connection not opened: %s", self.name, error)
            conn.close()

    # out of descriptors --------------------------------------------------------------------------

    def _starved(self, error: OSError) -> None:
        refused = self._refuse_queued()
        now = time.monotonic()
        reason = os.strerror(error.errno).lower()
        if self.state is AcceptState.ACCEPTING:
            self.state = AcceptState.STARVED
            self._starved_since = self._logged_at = now
            self._refused_unlogged = self._episode_refused = refused
            log.error("Temporary %s Accept Error(accept: %s), refusing new connections until descriptors "
                      "are free (%d refused)", self.name, reason, refused)
        else:
            self._refused_unlogged += refused
            self._episode_refused += refused
            if now - self._logged_at >= LOG_INTERVAL:
                log.error("Temporary %s Accept Error(accept: %s), %d connections refused in the last %.0fs",
                          self.name, reason, self._refused_unlogged, now - self._logged_at)
                self._logged_at = now
                self._refused_unlogged = 0
        self._pause()
        self._retry = self.loop.call_later(self._backoff, self._resume)
        self._backoff = min(self._backoff * 2, _MAX_BACKOFF)

    def _refuse_queued(self) -> int:
        """Accept each queued connection on the spare descriptor's slot and close it at once."""
        if self._spare is None:
            self._spare = _open_spare()
            return 0
        os.close(self._spare)
        self._spare = None
        refused = 0
        try:
            for _ in range(_BATCH):
                conn, _address = self.sock.accept()
                conn.close()
                refused += 1
        except OSError:
            pass
        self._spare = _open_spare()
        return refused

    def _resume(self) -> None:
        self._retry = None
        if self.state is AcceptState.STARVED:
            self.start()

    def _recovered(self) -> None:
        self.state = AcceptState.ACCEPTING
        self._backoff = _FIRST_BACKOFF
        log.info("%s accept resumed: %d connections refused in %.0fs out of file descriptors", self.name,
                 self._episode_refused, time.monotonic() - self._starved_since)


def _open_spare() -> int | None:
    try:
        return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
