"""The push side of a consumer: deliveries go to `deliver_subject` (the account's routing does the
queue group of `deliver_group`) only while that subject has interest (`push_bound`): as nats-server
counts it, a subscription on exactly that subject, plain or (with a deliver group) of that group,
not a wildcard nor another group; idle heartbeats
when nothing was sent for `idle_heartbeat`; flow control as the reference windows it: a `100
FlowControl Request` once more than half the window is outstanding, no more deliveries while the
whole window is, and on the reply to the latest request the bytes it covered are released and the
window doubles (2 MiB up to 32 MiB); pacing (`pacing.py`): the consumer's own `rate_limit_bps` and,
when the deliver subject's interest is across a leaf link whose remote has a `drain_rate`, that link's
bucket; a paced sink stops and resumes on a timer. A pump that has sent TURN_BUDGET bytes yields the
same way with no delay, so a large backlog goes out in slices that are flushed as they are made while
everything else the loop has to do goes on between them. While its deliveries go through a link, the
sink is one of that link's drain feeds (its backlog counts in the link's drain progress)."""

from __future__ import annotations

import asyncio
import enum
import secrets
import string
import time
from typing import TYPE_CHECKING

from edgenats.jetstream.consumer_pull import heartbeat
from edgenats.pacing import Pacer, TokenBucket

if TYPE_CHECKING:
    from collections.abc import Callable

    from edgenats.account import Account

FLOW_CONTROL_REQUEST = b"NATS/1.0 100 FlowControl Request\r\n\r\n"
WINDOW_LIMIT = 32 * 1024 * 1024
FIRST_WINDOW = WINDOW_LIMIT // 16
_ALPHABET = string.ascii_letters + string.digits
# rate_limit_bps's credit: nats-server's burst is the stream's max_msg_size, else the account's or the
# server's max_payload; edgenats uses the default max_payload (1 MiB).
RATE_LIMIT_BURST = 1024 * 1024
# Bytes one pump sends before it yields to the loop (the output is flushed, other work runs).
TURN_BUDGET = 64 * 1024


class PushState(enum.Enum):
    UNBOUND = "unbound"  # nobody subscribes the deliver subject: nothing is sent
    BOUND = "bound"  # deliveries flow
    STALLED = "stalled"  # bound, but the flow-control window is full until the client answers
    PACED = "paced"  # bound, waiting for a rate limit's bucket or the next loop turn (a timer resumes it)


class PushSink:
    def __init__(self, account: Account, stream_name: str, name: str, config: dict,
                 last: Callable[[], tuple[int, int]], changed: Callable[[], None],
                 backlog: Callable[[], tuple[int, int, int]]) -> None:
        """`last()` is (delivered consumer seq, stream seq) for heartbeats; `changed()` is called when
        deliveries may resume or interest came or went; `backlog()` is what is left to deliver, for a
        link's drain progress."""
        self.account = account
        self._rate_limit: TokenBucket | None = None
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
        self.backlog = backlog
        self._pacer: Pacer | None = None
        self._follow(account.pacer_for(self.subject, self._group))
        self._resume: asyncio.Handle | None = None
        self._turn_bytes = 0  # sent by the running pump
        if config.get("idle_heartbeat"):
            self._schedule_beat(config["idle_heartbeat"] / 1e9)

    @property
    def config(self) -> dict:
        return self._config

    @config.setter
    def config(self, config: dict) -> None:
        """Set at creation and by a consumer update, which may change `rate_limit_bps` (bits a second)."""
        self._config = config
        rate_limit = config.get("rate_limit_bps", 0)
        if not rate_limit:
            self._rate_limit = None
        elif self._rate_limit is None or self._rate_limit.rate != rate_limit / 8:
            self._rate_limit = TokenBucket(rate_limit / 8, RATE_LIMIT_BURST)

    @property
    def state(self) -> PushState:
        if not self._bound:
            return PushState.UNBOUND
        if self._window and self._outstanding > self._window:
            return PushState.STALLED
        if self._resume is not None:
            return PushState.PACED
        return PushState.BOUND

    @property
    def bound(self) -> bool:
        return self._bound

    # the delivery core's questions ---------------------------------------------------------------

    def ready(self) -> bool:
        if self.state is not PushState.BOUND:
            return False
        if self._turn_bytes >= TURN_BUDGET:
            self._resume = asyncio.get_running_loop().call_soon(self._resumed)
            return False
        wait = self._pace_wait()
        if wait > 0:
            self._resume = asyncio.get_running_loop().call_later(wait, self._resumed)
            return False
        return True

    def target(self, size: int) -> str | None:
        """The deliver subject, asked right after `ready()` said yes (nothing in between changes it)."""
        return self.subject

    def sent(self, size: int) -> None:
        self._last_sent = now = time.monotonic()
        self._turn_bytes += size
        if self._rate_limit is not None:
            self._rate_limit.take(size)
        pacer = self._pacer
        if pacer is not None:
            if pacer.bucket is not None:
                pacer.bucket.take(size)
            pacer.meter.record(size, now)
        if not self._window:
            return
        self._outstanding += size
        if self._fc_reply is None and self._outstanding > self._window // 2:
            self._fc_reply = self._fc_prefix + "".join(secrets.choice(_ALPHABET) for _ in range(4))
            self._fc_bytes = self._outstanding
            self.account.publish_internal(self.subject, b"", self._fc_reply, FLOW_CONTROL_REQUEST)

    def drained(self) -> None:
        """The pump ended (nothing more to deliver now, or the sink stopped it): the next one starts a
        new turn budget."""
        self._turn_bytes = 0

    def busy(self) -> bool:
        """Keeps an idle consumer alive: a subscriber on the deliver subject."""
        return self._bound

    def stop(self) -> None:
        self.account.unwatch_interest(self._watch)
        self._follow(None)
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        if self._fc_subscription is not None:
            self.account.unsubscribe_internal(self._fc_subscription)
            self._fc_subscription = None
        if self._beat is not None:
            self._beat.cancel()
            self._beat = None

    # events ----------------------------------------------------------------------------------------

    def _interest_changed(self) -> None:
        bound = self.account.has_exact_interest(self.subject, self._group)
        pacer = self.account.pacer_for(self.subject, self._group)
        if pacer is not None or bound:
            # Interest moved to another link, or is local now; without any the link keeps counting
            # this backlog as its own (it is what the link will take when it is back).
            self._follow(pacer)
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

    # pacing --------------------------------------------------------------------------------------

    def _buckets(self) -> list[TokenBucket]:
        link = self._pacer.bucket if self._pacer is not None else None
        return [bucket for bucket in (self._rate_limit, link) if bucket is not None]

    def _pace_wait(self) -> float:
        """Seconds until every bucket lets the next message go (0: now)."""
        if self._rate_limit is None and (self._pacer is None or self._pacer.bucket is None):
            return 0.0
        return max(bucket.wait() for bucket in self._buckets())

    def _resumed(self) -> None:
        self._resume = None
        self._changed()

    def _follow(self, pacer: Pacer | None) -> None:
        """Deliver through `pacer` (a link's), counting as one of its feeds; None: through none."""
        if pacer is self._pacer:
            return
        if self._pacer is not None:
            self._pacer.feeds.discard(self)
        self._pacer = pacer
        if pacer is not None:
            pacer.feeds.add(self)

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
