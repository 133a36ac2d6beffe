"""The bounds on client connections that have not logged in (edgenats extensions of nats-server):

  * `max_pending_connects`: how many connections may wait for their CONNECT at once; one more is
    refused as soon as it is accepted, so a flood of sockets that never log in cannot take every
    connection slot (nor the memory) from real clients;
  * `auth_failure_delay`: a failed login from an address whose previous failure is less than
    `FAILURE_MEMORY` seconds old gets its `Authorization Violation` only after this delay (the
    connection reads nothing meanwhile and still counts as pending), so guessing credentials from one
    address is slowed to one try per delay per pending slot.

Pure bookkeeping with an injectable clock: the client session asks and acts. The per-address memory
keeps at most `ADDRESSES_KEPT` addresses (the oldest failure is forgotten first).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from enum import Enum

FAILURE_MEMORY = 60.0
ADDRESSES_KEPT = 4096


class LoginState(Enum):
    """Where a client connection is in logging in."""

    OPENING = "opening"  # accepted, not yet admitted by the bounds (not counted)
    AWAITING_CONNECT = "awaiting connect"  # counted as pending
    REFUSING = "refusing"  # a failed login waiting out its delay; still counted as pending
    CONNECTED = "connected"  # logged in; no longer pending


class LoginGuard:
    """One per server; its settings follow a reload, its counts and memory are kept."""

    def __init__(self, max_pending: int, failure_delay: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_pending = max_pending
        self.failure_delay = failure_delay
        self.pending = 0
        self._clock = clock
        self._last_failure: OrderedDict[str, float] = OrderedDict()

    def configure(self, max_pending: int, failure_delay: float) -> None:
        self.max_pending = max_pending
        self.failure_delay = failure_delay

    def admit(self) -> bool:
        """Count one more connection waiting for its CONNECT; False (not counted) when at the bound."""
        if self.pending >= self.max_pending:
            return False
        self.pending += 1
        return True

    def release(self) -> None:
        """A counted connection logged in or closed."""
        self.pending -= 1

    def failed(self, address: str) -> float:
        """Record a failed login from `address`; the delay before it is answered (0 for the first)."""
        now = self._clock()
        previous = self._last_failure.pop(address, None)
        self._last_failure[address] = now
        if len(self._last_failure) > ADDRESSES_KEPT:
            self._last_failure.popitem(last=False)
        if previous is not None and now - previous < FAILURE_MEMORY:
            return self.failure_delay
        return 0.0
