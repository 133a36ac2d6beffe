"""Back-pressure on publishers, as nats-server applies it: a receiver falls behind when its socket does
not take what it is sent and its pending bytes pass three quarters of max_pending (less when that
leaves no room for a few more reads of a publisher, see stall_mark); a client publisher
whose input delivered to such a receiver has its reads paused (a stall) until the receiver catches up,
at most STALL_S per read, so that a consumer which stops reading still reaches max_pending (or its
write deadline) and is cut off while the publisher goes on.

Beyond each connection's own limit, all outbound buffers together have a budget (OUTBOUND_BUDGET, one
that fits a 512 MB board under a 128 MB service limit): while the pending bytes of the blocked
receivers add up to more, every blocked receiver counts as behind and the stall lasts until they drain
below it (or the write deadline cuts the one that stopped reading).

Pending bytes are the transports' own counts, read when a blocked receiver is flushed or drains:
between those moments the total can only be over-estimated, so it errs on the side of slowing down.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

MB = 1024 * 1024
OUTBOUND_BUDGET = 48 * MB
# The longest a publisher's reads stay paused for receivers behind on their own limit, per read:
# nats-server stalls at most 10 ms per read of up to 64 KiB; asyncio reads up to 256 KiB at a time.
STALL_S = 0.04
# The most a publisher's one read can bring (asyncio's read size).
READ_BYTES = 256 * 1024


def stall_mark(max_pending: int) -> int:
    """Pending bytes past which a receiver is behind: three quarters of max_pending, as nats-server,
    but leaving room for the reads a publisher may deliver before its stall takes hold (MSG lines are
    a little longer than the PUB lines read)."""
    return max(max_pending // 4, min(max_pending // 4 * 3, max_pending - 3 * READ_BYTES))


class Receiver(Protocol):
    out: list
    closed: bool
    transport: asyncio.Transport | None


class Producer(Protocol):
    closed: bool
    transport: asyncio.Transport | None


class Backpressure:
    """The server's view of receivers that are behind and the publishers paused for them."""

    __slots__ = ("_loop", "_pending", "_marks", "_total", "behind", "_paused")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # Blocked receivers (their transport paused our writes), their pending bytes when last seen and
        # the mark past which they are behind.
        self._pending: dict[Receiver, int] = {}
        self._marks: dict[Receiver, int] = {}
        self._total = 0
        # Receivers past their stall mark, or every blocked one while the total is over the budget.
        self.behind: set[Receiver] = set()
        # Paused publishers, with the timer that ends a bounded stall (None: until drained).
        self._paused: dict[Producer, asyncio.TimerHandle | None] = {}

    # receivers ---------------------------------------------------------------------------------

    def pending_changed(self, receiver: Receiver, pending: int, max_pending: int) -> None:
        """A blocked receiver was written to (or just blocked) with `pending` bytes now buffered."""
        was_over = self._total > OUTBOUND_BUDGET
        self._total += pending - self._pending.get(receiver, 0)
        self._pending[receiver] = pending
        self._marks[receiver] = mark = stall_mark(max_pending)
        if self._total > OUTBOUND_BUDGET or was_over:
            self._find_behind()
        elif pending > mark:
            self.behind.add(receiver)
        else:
            self.behind.discard(receiver)

    def drained(self, receiver: Receiver) -> None:
        """A receiver's transport wants more (its pending bytes fell below its low-water mark), or it
        closed: publishers paused for it go on, and stall again on their next read if still needed."""
        self._total -= self._pending.pop(receiver, 0)
        self._marks.pop(receiver, None)
        self._find_behind()
        if self._total <= OUTBOUND_BUDGET:
            for producer in list(self._paused):
                self._resume(producer)

    def _find_behind(self) -> None:
        if self._total > OUTBOUND_BUDGET:
            self.behind = set(self._pending)
        else:
            self.behind = {receiver for receiver, pending in self._pending.items()
                           if pending > self._marks[receiver]}

    # producers ---------------------------------------------------------------------------------

    def output_of_behind(self) -> list[tuple[Receiver, int]]:
        """Each receiver behind with its queued output now (taken before a publisher's input)."""
        return [(receiver, len(receiver.out)) for receiver in self.behind]

    def check(self, producer: Producer, before: list[tuple[Receiver, int]]) -> None:
        """Pause `producer` when its input since `before` was queued to a receiver that is behind."""
        if producer.closed or producer in self._paused:
            return
        if all(len(receiver.out) == count for receiver, count in before):
            return
        producer.transport.pause_reading()
        bounded = self._total <= OUTBOUND_BUDGET
        self._paused[producer] = self._loop.call_later(STALL_S, self._resume, producer) if bounded else None

    def forget(self, connection: Receiver | Producer) -> None:
        """`connection` closed: no longer a receiver behind, nor a paused publisher."""
        timer = self._paused.pop(connection, None)
        if timer is not None:
            timer.cancel()
        if connection in self._pending:
            self.drained(connection)

    def _resume(self, producer: Producer) -> None:
        timer = self._paused.pop(producer, None)
        if timer is not None:
            timer.cancel()
        if not producer.closed:
            producer.transport.resume_reading()
