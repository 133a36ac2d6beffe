"""The push side of a consumer: deliveries go to `deliver_subject` (the account's routing does the
queue group of `deliver_group`) only while that subject has interest (`push_bound`): as nats-server
counts it, a subscription on exactly that subject, plain or (with a deliver group) of that group,
not a wildcard nor another group; idle heartbeats
when nothing was sent for `idle_heartbeat`; flow control as the reference windows it: a `100
FlowControl Request` once more than half the window is outstanding, no more deliveries while the
whole window is, and on the reply to the latest request the bytes it covered are released and the
window doubles (2 MiB up to 32 MiB)."""

from __future__ import annotations

import asyncio
import enum
import secrets
import string
import time
from typing import TYPE_CHECKING

from edgenats.jetstream.consumer_pull import heartbeat

if TYPE_CHECKING:
    from collections.abc import Callable

    from edgenats.account import Account

FLOW_CONTROL_REQUEST = b"NATS/1.0 100 FlowControl Request\r\n\r\n"
WINDOW_LIMIT = 32 * 1024 * 1024
FIRST_WINDOW = WINDOW_LIMIT // 16
_ALPHABET = string.ascii_letters + string.digits


class PushState(enum.Enum):
    UNBOUND = "unbound"  # nobody subscribes the deliver subject: nothing is sent
    BOUND = "bound"  # deliveries flow
    STALLED = "stalled"  # bound, but the flow-control window is full until the client answers


class PushSink:
    def __init__(self, account: Account, stream_name: str, name: str, config: dict,
                 last: Callable[[], tuple[int, int]], changed: Callable[[], None]) -> None:
        """`last()` is (delivered consumer seq, stream seq) for heartbeats; `changed()` is called when
        deliveries may resume or interest came or went."""
        self.account = account
        self.config = config
        self._last = last
        self._changed = changed
        self.subject = config["deliver_subject"]
        self._group = config.get("deliver_group") or None
        self._bound = account.has_exact_interest(self.subject, self._group)
        self._watch = account.watch_interest(self.subject, self._interest_changed)
        self._window = FIRST_WINDOW if config.get("flow_control") else 0
        self._outstanding = 0  # bytes sent and not yet covered by an answered flow-control request
        self._fc_reply: str | None = None
        self._fc_bytes = 0
        self._fc_prefix = f"$JS.FC.{stream_name}.{name}."
        self._fc_subscription = (account.subscribe_internal(self._fc_prefix + "*", self._on_flow_control)
                                 if self._window else None)
        self._last_sent = time.monotonic()
        self._beat: asyncio.TimerHandle | None = None
        if config.get("idle_heartbeat"):
            self._schedule_beat(config["idle_heartbeat"] / 1e9)

    @property
    def state(self) -> PushState:
        if not self._bound:
            return PushState.UNBOUND
        if self._window and self._outstanding > self._window:
            return PushState.STALLED
        return PushState.BOUND

    @property
    def bound(self) -> bool:
        return self._bound

    # the delivery core's questions ---------------------------------------------------------------

    def ready(self) -> bool:
        return self.state is PushState.BOUND

    def target(self, size: int) -> str | None:
        return self.subject if self.ready() else None

    def sent(self, size: int) -> None:
        self._last_sent = time.monotonic()
        if not self._window:
            return
        self._outstanding += size
        if self._fc_reply is None and self._outstanding > self._window // 2:
            self._fc_reply = self._fc_prefix + "".join(secrets.choice(_ALPHABET) for _ in range(4))
            self._fc_bytes = self._outstanding
            self.account.publish_internal(self.subject, b"", self._fc_reply, FLOW_CONTROL_REQUEST)

    def drained(self) -> None:
        """Nothing more to deliver now (push has nothing to end)."""

    def busy(self) -> bool:
        """Keeps an idle consumer alive: a subscriber on the deliver subject."""
        return self._bound

    def stop(self) -> None:
        self.account.unwatch_interest(self._watch)
        if self._fc_subscription is not None:
            self.account.unsubscribe_internal(self._fc_subscription)
            self._fc_subscription = None
        if self._beat is not None:
            self._beat.cancel()
            self._beat = None

    # events ----------------------------------------------------------------------------------------

    def _interest_changed(self) -> None:
        bound = self.account.has_exact_interest(self.subject, self._group)
        if bound != self._bound:
            self._bound = bound
            # After the subscription change is complete (this runs inside the trie's update).
            asyncio.get_running_loop().call_soon(self._changed)

    def _on_flow_control(self, subject: str, reply: str | None, headers: bytes | None, payload: bytes) -> int:
        if subject == self._fc_reply:
            self._window = min(self._window * 2, WINDOW_LIMIT)
            self._outstanding = max(self._outstanding - self._fc_bytes, 0)
            self._fc_reply, self._fc_bytes = None, 0
            self._changed()
        return 1

    def _schedule_beat(self, delay: float) -> None:
        self._beat = asyncio.get_running_loop().call_later(delay, self._heartbeat)

    def _heartbeat(self) -> None:
        """Every `idle_heartbeat` without a delivery: a heartbeat, when someone listens."""
        interval = self.config["idle_heartbeat"] / 1e9
        idle = time.monotonic() - self._last_sent
        if idle >= interval * 0.99:
            if self._bound:
                self.account.publish_internal(self.subject, b"", headers=heartbeat(*self._last(), self._fc_reply))
            self._last_sent = time.monotonic()
            self._schedule_beat(interval)
        else:
            self._schedule_beat(interval - idle)
