"""The load generator's two halves: publishers that write prebuilt frames in large chunks (open loop,
or paced by PING/PONG), and subscribers that count delivered MSG frames in bulk.

Threads are enough: sendall and recv_into release the GIL, and counting is arithmetic on byte counts,
so one core drives millions of messages per second.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from edgenats.bench.errors import BenchError
from edgenats.bench.frames import (
    PING_FRAME,
    PONG_MARKER,
    FixedFrameCounter,
    FrameCycle,
    MarkerCounter,
    OrderCheck,
    msg_header,
)

POLL_INTERVAL_S = 0.05
FLOW_WAIT_S = 0.0002


class CountingSubscriber(threading.Thread):
    """Counts MSG frames arriving on an already subscribed connection until stopped."""

    def __init__(self, sock: socket.socket, subject: str, sid: int, size: int, name: str,
                 order: OrderCheck | None = None) -> None:
        super().__init__(name=name, daemon=True)
        self.sock = sock
        self.count = 0
        self.last_receive = 0.0
        self.failure: str | None = None
        self._counter = FixedFrameCounter(msg_header(subject, sid, size), size, order=order)
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
            if self._counter.order is not None and self._counter.order.failure:
                self.failure = self._counter.order.failure
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


@dataclass(frozen=True)
class Pacing:
    """The paced mode's flow control: at most `pings_in_flight` writes unanswered by a PONG, and no
    write while subscribers trail all publishers together by more than `window_chunks` writes
    (`behind()` says by how many messages; None when nobody subscribes)."""

    pings_in_flight: int
    window_chunks: int
    behind: Callable[[], int] | None = None


class Publisher:
    """Publishes fixed-size messages whose payloads differ (FrameCycle), in writes of up to
    `chunk_bytes`.

    Open loop (no `pacing`, the default): writes follow each other as fast as the socket takes them,
    as a real client's do; only settle() waits for the server. Paced: every write is followed by a
    PING and the publisher waits as `pacing` says, so it cannot run ahead of the server or of slow
    consumers.
    """

    def __init__(
        self, sock: socket.socket, subject: str, size: int, chunk_bytes: int, stall_timeout_s: float,
        pacing: Pacing | None = None, first_counter: int = 0,
    ) -> None:
        self.sock = sock
        self.cycle = FrameCycle(subject, size, first_counter)
        self.per_chunk = max(1, chunk_bytes // self.cycle.frame_length)
        self._pacing = pacing
        self._stall_timeout_s = stall_timeout_s
        self._pongs = MarkerCounter(PONG_MARKER, 64 * 1024)
        self._position = 0
        self.sent = 0
        self._pings_sent = 0
        self._pongs_received = 0
        sock.settimeout(stall_timeout_s)

    def publish(self, count: int | None = None, until: float | None = None) -> int:
        """Send `count` messages, or whole writes until perf_counter() passes `until`; returns how many."""
        if count is None and until is None:
            raise ValueError("publish needs a count or a deadline")
        sent_before = self.sent
        pacing = self._pacing
        while True:
            remaining = self.per_chunk if count is None else count - (self.sent - sent_before)
            if remaining == 0 or (until is not None and time.perf_counter() >= until):
                break
            chunk_msgs = min(self.per_chunk, remaining, self.cycle.length - self._position)
            if pacing is not None:
                self._wait_for_pongs(pacing.pings_in_flight - 1)
                self._wait_for_subscribers(pacing)
            self._send(self.cycle.frames(self._position, chunk_msgs))
            if pacing is not None:
                self._ping()
            self._position = (self._position + chunk_msgs) % self.cycle.length
            self.sent += chunk_msgs
        return self.sent - sent_before

    def settle(self) -> None:
        """Return once the server has answered a PING sent now, i.e. processed everything sent."""
        self._ping()
        self._wait_for_pongs(0)

    def _send(self, data: bytes | memoryview) -> None:
        try:
            self.sock.sendall(data)
        except TimeoutError:
            raise BenchError(f"the server took nothing from the publisher for {self._stall_timeout_s:g}s") from None

    def _ping(self) -> None:
        self._send(PING_FRAME)
        self._pings_sent += 1

    def _wait_for_pongs(self, allowed_outstanding: int) -> None:
        while self._pings_sent - self._pongs_received > allowed_outstanding:
            try:
                self._pongs_received += self._pongs.read_from(self.sock)
            except TimeoutError:
                raise BenchError(
                    f"the server did not answer PING within {self._stall_timeout_s:g}s"
                ) from None

    def _wait_for_subscribers(self, pacing: Pacing) -> None:
        if pacing.behind is None:
            return
        last_seen, last_progress = -1, time.perf_counter()
        while (behind := pacing.behind()) > pacing.window_chunks * self.per_chunk:
            now = time.perf_counter()
            if behind != last_seen:
                last_seen, last_progress = behind, now
            elif now - last_progress > self._stall_timeout_s:
                raise BenchError(f"subscribers stopped receiving ({behind} messages behind)")
            time.sleep(FLOW_WAIT_S)


def publish_together(publishers: list[Publisher], count: int | None, until: float | None) -> int:
    """Every publisher sends at once, each from its own thread (`count` split between them); returns how
    many messages they sent in all. The first publisher's error is raised once all have stopped."""
    shares = [None] * len(publishers) if count is None else [
        count // len(publishers) + (index < count % len(publishers)) for index in range(len(publishers))
    ]
    errors: list[BaseException] = []

    def send(publisher: Publisher, share: int | None) -> None:
        try:
            if share != 0:
                publisher.publish(count=share, until=until)
        except (BenchError, OSError) as error:
            errors.append(error)

    sent_before = sum(publisher.sent for publisher in publishers)
    threads = [threading.Thread(target=send, args=(publisher, share), name=f"bench-pub-{index}", daemon=True)
               for index, (publisher, share) in enumerate(zip(publishers, shares, strict=True))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return sum(publisher.sent for publisher in publishers) - sent_before
