"""The load generator's two halves: a publisher that writes prebuilt frames in large chunks with
PING/PONG flow control, and subscribers that count delivered MSG frames in bulk.

Threads are enough: sendall and recv_into release the GIL, and counting is arithmetic on byte counts,
so one core drives millions of messages per second.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from edgenats.bench.errors import BenchError
from edgenats.bench.frames import (
    PING_FRAME,
    PONG_MARKER,
    FixedFrameCounter,
    MarkerCounter,
    msg_header,
    payload,
    pub_frame,
)

POLL_INTERVAL_S = 0.05
FLOW_WAIT_S = 0.0002


class CountingSubscriber(threading.Thread):
    """Counts MSG frames arriving on an already subscribed connection until stopped."""

    def __init__(self, sock: socket.socket, subject: str, sid: int, size: int, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.sock = sock
        self.count = 0
        self.last_receive = 0.0
        self.failure: str | None = None
        self._counter = FixedFrameCounter(msg_header(subject, sid, size), size)
        self._stopping = threading.Event()

    def run(self) -> None:
        self.sock.settimeout(POLL_INTERVAL_S)
        while not self._stopping.is_set():
            try:
                found = self._counter.read_from(self.sock)
            except TimeoutError:
                continue
            except (BenchError, OSError) as error:
                self.failure = str(error)
                return
            if found:
                self.count += found
                self.last_receive = time.perf_counter()
            if pongs := self._counter.owed_pongs():
                self.sock.sendall(pongs)

    def stop(self) -> None:
        self._stopping.set()
        self.join()
        self.sock.close()


class Publisher:
    """Publishes fixed-size messages as chunks of prebuilt PUB frames, each chunk followed by a PING.

    At most `pings_in_flight` chunks are unacknowledged, so the publisher cannot run ahead of the
    server; with `delivered` given it also waits while subscribers trail by more than `window_msgs`,
    so it cannot run ahead of slow consumers either.
    """

    def __init__(
        self,
        sock: socket.socket,
        subject: str,
        size: int,
        chunk_bytes: int,
        pings_in_flight: int,
        window_chunks: int,
        stall_timeout_s: float,
        delivered: Callable[[], int] | None = None,
    ) -> None:
        self.sock = sock
        self.frame = pub_frame(subject, payload(size))
        self.per_chunk = max(1, chunk_bytes // len(self.frame))
        self._full_chunk = self.frame * self.per_chunk + PING_FRAME
        self._pings_in_flight = pings_in_flight
        self._window_msgs = self.per_chunk * window_chunks
        self._stall_timeout_s = stall_timeout_s
        self._delivered = delivered
        self._pongs = MarkerCounter(PONG_MARKER, 64 * 1024)
        self.sent = 0
        self._pings_sent = 0
        self._pongs_received = 0
        sock.settimeout(stall_timeout_s)

    def publish(self, count: int | None = None, until: float | None = None) -> int:
        """Send `count` messages, or whole chunks until perf_counter() passes `until`; returns how many."""
        if count is None and until is None:
            raise ValueError("publish needs a count or a deadline")
        sent_before = self.sent
        while True:
            remaining = None if count is None else count - (self.sent - sent_before)
            if remaining == 0 or (until is not None and time.perf_counter() >= until):
                break
            chunk_msgs = self.per_chunk if remaining is None else min(self.per_chunk, remaining)
            self._wait_for_pongs(self._pings_in_flight - 1)
            self._wait_for_subscribers()
            chunk = self._full_chunk if chunk_msgs == self.per_chunk else self.frame * chunk_msgs + PING_FRAME
            self.sock.sendall(chunk)
            self.sent += chunk_msgs
            self._pings_sent += 1
        return self.sent - sent_before

    def settle(self) -> None:
        """Return once the server has answered every PING, i.e. processed everything sent."""
        self._wait_for_pongs(0)

    def _wait_for_pongs(self, allowed_outstanding: int) -> None:
        while self._pings_sent - self._pongs_received > allowed_outstanding:
            try:
                self._pongs_received += self._pongs.read_from(self.sock)
            except TimeoutError:
                raise BenchError(
                    f"the server did not answer PING within {self._stall_timeout_s:g}s"
                ) from None

    def _wait_for_subscribers(self) -> None:
        if self._delivered is None:
            return
        last_seen, last_progress = -1, time.perf_counter()
        while (delivered := self._delivered()) < self.sent - self._window_msgs:
            now = time.perf_counter()
            if delivered != last_seen:
                last_seen, last_progress = delivered, now
            elif now - last_progress > self._stall_timeout_s:
                raise BenchError(f"subscribers stopped receiving ({delivered} of {self.sent} delivered)")
            time.sleep(FLOW_WAIT_S)
