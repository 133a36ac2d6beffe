"""Per-connection bookkeeping for `allow_responses`: which reply subjects a user may answer, how often.

Pure logic with an injectable clock: the connection calls `remember` when it delivers a message whose
reply subject its user could not otherwise publish to, and `consume` when a PUB fails the static check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .permissions import ResponsePermission

# Expired and used-up entries are swept when this many replies were remembered since the last sweep,
# or when a second has passed, so a connection answering many requests keeps a small table.
_SWEEP_AFTER_ENTRIES = 4096
_SWEEP_AFTER_SECONDS = 1.0


@dataclass
class _PendingReply:
    granted_at: float
    uses: int = 0


class ReplyAllowance:
    """Reply subjects granted to one connection by its user's `allow_responses` permission."""

    def __init__(self, rule: ResponsePermission, clock: Callable[[], float] = time.monotonic) -> None:
        self.rule = rule
        self._clock = clock
        self._pending: dict[str, _PendingReply] = {}
        self._remembered_since_sweep = 0
        self._last_sweep = clock()

    def __len__(self) -> int:
        return len(self._pending)

    def remember(self, reply: str) -> None:
        """A message carrying `reply` was delivered to this connection: grant answers to it afresh."""
        now = self._clock()
        self._pending[reply] = _PendingReply(now)
        self._remembered_since_sweep += 1
        sweep_due = now - self._last_sweep > _SWEEP_AFTER_SECONDS
        if sweep_due or self._remembered_since_sweep > _SWEEP_AFTER_ENTRIES:
            self._sweep(now)

    def consume(self, subject: str) -> bool:
        """May this connection publish to `subject` as a response? Counts the use when it may."""
        pending = self._pending.get(subject)
        if pending is None:
            return False
        pending.uses += 1
        if self._used_up(pending) or self._expired(pending, self._clock()):
            del self._pending[subject]
            return False
        return True

    def _used_up(self, pending: _PendingReply) -> bool:
        return self.rule.max_msgs > 0 and pending.uses > self.rule.max_msgs

    def _expired(self, pending: _PendingReply, now: float) -> bool:
        return self.rule.expires > 0 and now - pending.granted_at > self.rule.expires

    def _sweep(self, now: float) -> None:
        stale = [
            reply
            for reply, pending in self._pending.items()
            if (self.rule.max_msgs > 0 and pending.uses >= self.rule.max_msgs) or self._expired(pending, now)
        ]
        for reply in stale:
            del self._pending[reply]
        self._remembered_since_sweep = 0
        self._last_sweep = now
