"""Pacing of JetStream deliveries: one token bucket kind for both limits there are, a consumer's own
`rate_limit_bps` and a leaf remote's `drain_rate` (the deliveries that leave through that link), and
the drain progress a link shows (what its consumers still have to send, how old the oldest of it
is, the rate it goes out at). Nothing here waits: a sink asks `wait(size)` and, when it is above
zero, stops and resumes on a timer of that many seconds."""

from __future__ import annotations

import time
from collections import deque
from typing import Protocol

# The rate shown is measured over this many seconds, in one-second slots.
RATE_WINDOW = 5


class TokenBucket:
    """`rate` bytes a second with up to `burst` bytes of credit. A message goes when the bucket is not
    in debt and takes its size (it may go into debt: a message larger than the burst still goes, and
    the next one waits until the debt is paid back), so over time exactly `rate` bytes a second leave."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._at = time.monotonic()

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def wait(self) -> float:
        """Seconds until the next message may go (0: now)."""
        self._refill(time.monotonic())
        return -self._tokens / self.rate if self._tokens < 0 else 0.0

    def take(self, size: int) -> None:
        self._refill(time.monotonic())
        self._tokens -= size


class RateMeter:
    """Messages and bytes sent, per second over the last RATE_WINDOW seconds."""

    def __init__(self) -> None:
        self._slots: deque[list[int]] = deque()  # [second, messages, bytes], oldest first

    def record(self, size: int, now: float) -> None:
        """One message of `size` bytes sent at `now` (time.monotonic()); slots past the window go when
        a new second starts."""
        second = int(now)
        slots = self._slots
        if not slots or slots[-1][0] != second:
            slots.append([second, 0, 0])
            while slots[0][0] <= second - RATE_WINDOW:
                slots.popleft()
        slot = slots[-1]
        slot[1] += 1
        slot[2] += size

    def rates(self) -> tuple[float, float]:
        """(messages/s, bytes/s) over the last RATE_WINDOW whole seconds (the current one not counted)."""
        now = int(time.monotonic())
        kept = [slot for slot in self._slots if now - RATE_WINDOW <= slot[0] < now]
        return sum(slot[1] for slot in kept) / RATE_WINDOW, sum(slot[2] for slot in kept) / RATE_WINDOW


class DeliveryFeed(Protocol):
    """A consumer delivering through a pacer: what it still has to send."""

    def backlog(self) -> tuple[int, int, int]:
        """(messages, bytes, stored time in ns of the oldest of them, 0 when none)."""


class Pacer:
    """One way out (a leaf remote's link): the consumers delivering through it, its optional bucket
    (`rate` bytes a second; 0 is unpaced) and the rate it is measured at."""

    def __init__(self, rate: int = 0) -> None:
        self.bucket: TokenBucket | None = None
        self.limit = 0
        self.meter = RateMeter()
        self.feeds: set[DeliveryFeed] = set()
        self.set_rate(rate)

    def set_rate(self, rate: int) -> None:
        """A new limit (config reload); 0 removes it. The burst is a tenth of a second's worth."""
        if rate == self.limit and (self.bucket is not None) == bool(rate):
            return
        self.limit = rate
        self.bucket = TokenBucket(rate, rate / 10) if rate else None

    def progress(self) -> dict:
        """The drain as monitoring shows it."""
        messages = size = 0
        oldest = 0
        for feed in list(self.feeds):
            feed_messages, feed_bytes, feed_oldest = feed.backlog()
            messages += feed_messages
            size += feed_bytes
            if feed_oldest and (not oldest or feed_oldest < oldest):
                oldest = feed_oldest
        rate_msgs, rate_bytes = self.meter.rates()
        return {
            "consumers": len(self.feeds),
            "backlog_msgs": messages,
            "backlog_bytes": size,
            "lag_seconds": round(max(time.time_ns() - oldest, 0) / 1e9, 3) if oldest else 0.0,
            "rate_msgs": round(rate_msgs, 1),
            "rate_bytes": round(rate_bytes),
            "limit_bytes": self.limit,
        }

