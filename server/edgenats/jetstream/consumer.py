"""A consumer's delivery core, the same for pull and push: where it is in its stream (delivered, ack
floor), the outstanding set with each message's delivery count and ack deadline (`ack_wait`, or
`backoff` by delivery count), the redelivery queue, `max_deliver`, `max_ack_pending`, `headers_only`,
`replay_policy: original`, and the inactivity clock. Where a message goes is its sink's business:
`consumer_pull.PullSink` (waiting MSG.NEXT requests) or `consumer_push.PushSink` (the deliver subject).
Messages go out with the V1 ack reply; acks arrive on one internal subscription per consumer."""

from __future__ import annotations

import asyncio
import enum
import heapq
import itertools
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from edgenats.jetstream import consumer_config
from edgenats.jetstream.consumer_acks import AckKind, ack_kind, ack_reply, acked_stream_seq, nak_delay_ns
from edgenats.jetstream.consumer_pull import PUSH_BASED, PullSink
from edgenats.jetstream.consumer_push import PushSink
from edgenats.jetstream.store import first_seq_at

if TYPE_CHECKING:
    from collections.abc import Callable

    from edgenats.account import Account
    from edgenats.jetstream.store import MessageStore, StoredMessage

REPLAY_MIN_NS = 1_000_000  # replay_policy original: gaps shorter than this are not waited for


class Sink(Protocol):
    """Where deliveries go: the core asks `ready()`, then `target(size)` for each message, reports
    `sent(size)`, and `drained()` when nothing more is deliverable now; `busy()` keeps an idle
    consumer alive."""

    config: dict

    def ready(self) -> bool: ...
    def target(self, size: int) -> str | None: ...
    def sent(self, size: int) -> None: ...
    def drained(self) -> None: ...
    def busy(self) -> bool: ...
    def stop(self) -> None: ...


class EntryState(enum.Enum):
    AWAITING_ACK = "awaiting ack"  # delivered; redelivered when its deadline passes
    DUE = "due"  # in the redelivery queue
    EXHAUSTED = "exhausted"  # delivered max_deliver times: never again, but below it the ack floor stays


@dataclass(slots=True)
class Outstanding:
    """A delivered, unacknowledged message: the consumer seq of its first delivery, its delivery count,
    state and (while awaiting its ack) deadline."""
    first_cseq: int
    deliveries: int
    state: EntryState
    deadline_ns: int = 0


class Source(enum.Enum):
    """Where the next message comes from."""
    REDELIVERY = "redelivery"
    BACKLOG = "backlog"  # last_per_subject's initial per-subject last messages
    STREAM = "stream"


class Consumer:
    def __init__(self, account: Account, stream_name: str, store: MessageStore, name: str, config: dict,
                 created_ns: int, retire: Callable[[Consumer], None],
                 floor_moved: Callable[[Consumer], None] | None = None,
                 acked: Callable[[Consumer, int], None] | None = None) -> None:
        """`retire(consumer)` removes it from its stream when `inactive_threshold` passes idle;
        `floor_moved(consumer)` is told each move of the ack floor (to keep a durable's position).
        `acked(consumer, stream_seq)`, when set, is told each message the consumer is done with
        (acked, terminated, or delivered under ack policy none), for retention policies."""
        self.account = account
        self._retire = retire
        self._floor_moved = floor_moved
        self.acked: Callable[[Consumer, int], None] | None = acked
        self._idle: asyncio.TimerHandle | None = None
        self._active_ns = time.monotonic_ns()  # a pull consumer's last request or ack
        self.name = name
        self.stream_name = stream_name
        self.store = store
        self.config = config
        self.created_ns = created_ns
        self.delivered_sseq = 0
        self.delivered_cseq = 0
        self.floor_sseq = 0
        self.floor_cseq = 0
        self.last_delivered_ns = 0  # wall clock, shown as `last_active`
        self.last_ack_ns = 0
        # Delivered and not acknowledged, in stream seq order (added as delivered): the first is the lowest.
        self.outstanding: dict[int, Outstanding] = {}
        self._exhausted = 0  # how many of them are EXHAUSTED (not counted as ack pending)
        self._redeliver: deque[int] = deque()
        self._backlog: deque[int] = deque()
        # (deadline, seq) of each deadline set; one whose entry moved on since is skipped when reached.
        self._deadlines: list[tuple[int, int]] = []
        self._timer: asyncio.TimerHandle | None = None  # the redelivery timer, for the earliest deadline
        self._timer_due_ns = 0
        self._pumping = False
        self._stopped = False
        self._replay_until = 0  # replay original: the stream's last seq at creation, replayed with its gaps
        self._replay_last_ns = 0
        self._replay_due = 0  # monotonic ns the held message may go at
        self._replay_timer: asyncio.TimerHandle | None = None
        self._start()
        self.floor_sseq = self.delivered_sseq
        if config.get("replay_policy") == "original":
            self._replay_until = store.state().last_seq
        self._ack_prefix = f"$JS.ACK.{stream_name}.{self.name}."
        self._subscription = account.subscribe_internal(self._ack_prefix + ">", self._on_ack)
        self.sink: Sink = self._make_sink()
        self._arm_idle()

    def _make_sink(self) -> Sink:
        if consumer_config.is_push(self.config):
            return PushSink(self.account, self.stream_name, self.name, self.config, self._last, self._sink_changed,
                            self.backlog)
        return PullSink(self.account, self.config, self._last, self._deliverable)

    def restore(self, delivered: tuple[int, int], ack_floor: tuple[int, int]) -> None:
        """A durable's kept position, (stream seq, consumer seq) each: what was delivered above the
        ack floor is outstanding again and goes out first (it may have been acked after the floor was
        kept: redelivered, never skipped)."""
        self._backlog.clear()
        self.delivered_sseq, self.delivered_cseq = delivered
        self.floor_sseq, self.floor_cseq = ack_floor
        if not self.acks:
            return
        after = self.floor_sseq
        while (found := self._next_new(after)) is not None and found.seq <= self.delivered_sseq:
            self.outstanding[found.seq] = Outstanding(self.floor_cseq + 1, 1, EntryState.DUE)
            self._redeliver.append(found.seq)
            after = found.seq

    def update(self, config: dict) -> None:
        """A permitted config change (consumer_config.check_update): a new deliver subject (or group)
        gets a new sink."""
        old = self.config
        self.config = config
        if any(old.get(key) != config.get(key) for key in ("deliver_subject", "deliver_group")):
            self.sink.stop()
            self.sink = self._make_sink()
        else:
            self.sink.config = config
        if old.get("inactive_threshold") != config.get("inactive_threshold"):
            self._disarm_idle()
            self._arm_idle()
        self.pump()

    @property
    def config(self) -> dict:
        return self._config

    @config.setter
    def config(self, config: dict) -> None:
        """A config (at creation, or a permitted update), and what each delivery reads of it, once."""
        self._config = config
        self._filters = consumer_config.filters(config)
        self._acks = config["ack_policy"] != "none"
        self._headers_only = bool(config.get("headers_only"))
        self._max_ack_pending = config.get("max_ack_pending", 0)

    @property
    def acks(self) -> bool:
        return self._acks

    @property
    def push(self) -> bool:
        return isinstance(self.sink, PushSink)

    def _start(self) -> None:
        """delivered.stream_seq at creation: the start point - 1, by deliver policy."""
        store = self.store
        policy = self.config["deliver_policy"]
        state = store.state()
        if policy == "new":
            self.delivered_sseq = state.last_seq
        elif policy == "last":
            last = max((m.seq for f in self.filters if (m := store.last_for_subject(f)) is not None), default=0)
            self.delivered_sseq = max(last - 1, 0) if last else state.last_seq
        elif policy == "by_start_sequence":
            self.delivered_sseq = self.config["opt_start_seq"] - 1
        elif policy == "by_start_time":
            self.delivered_sseq = first_seq_at(store, consumer_config.parse_time(self.config["opt_start_time"])) - 1
        elif policy == "last_per_subject":
            seqs = sorted({m.seq for f in self.filters for subject in store.subjects(f)
                           if (m := store.last_for_subject(subject)) is not None})
            self._backlog.extend(seqs)
            self.delivered_sseq = seqs[0] - 1 if seqs else state.last_seq

    @property
    def filters(self) -> list[str]:
        return self._filters

    # what there is to deliver -----------------------------------------------------------------

    def _next_new(self, after: int) -> StoredMessage | None:
        store = self.store
        filters = self._filters
        if len(filters) == 1:
            return store.next_for_subject(filters[0], after + 1)
        found = [m for f in filters if (m := store.next_for_subject(f, after + 1)) is not None]
        return min(found, key=lambda m: m.seq) if found else None

    def num_pending(self) -> int:
        count = sum(1 for seq in self._backlog if self.store.get(seq) is not None)
        after = max(self.delivered_sseq, self._backlog[-1] if self._backlog else 0)
        # filter_subjects do not overlap (nats-server refuses overlapping ones), so counts add up.
        return count + sum(self.store.count_after(subject_filter, after) for subject_filter in self.filters)

    def _deliverable(self) -> int:
        return self.num_pending() + len(self._redeliver)

    def backlog(self) -> tuple[int, int, int]:
        """What is left to deliver, for drain progress: (messages, bytes estimated from the stream's
        mean stored size, stored time in ns of the first of them or 0)."""
        messages = self._deliverable()
        if not messages:
            return 0, 0, 0
        state = self.store.state()
        first = self._redeliver[0] if self._redeliver else None
        found = self.store.get(first) if first is not None else self._next_new(self.delivered_sseq)
        mean = state.bytes // state.messages if state.messages else 0
        return messages, messages * mean, found.time_ns if found is not None else 0

    def _peek(self) -> tuple[StoredMessage, Source] | None:
        """The next message to send, due redeliveries first, without taking it."""
        while self._redeliver:
            seq = self._redeliver[0]
            entry = self.outstanding.get(seq)
            if entry is not None and entry.state is EntryState.DUE:
                found = self.store.get(seq)
                if found is not None:
                    return found, Source.REDELIVERY
                self._forget(seq)
            self._redeliver.popleft()
        limit = self._max_ack_pending
        if self._acks and 0 < limit <= self.num_ack_pending():
            return None
        while self._backlog:
            found = self.store.get(self._backlog[0])
            if found is not None:
                return found, Source.BACKLOG
            self._backlog.popleft()
        found = self._next_new(self.delivered_sseq)
        return (found, Source.STREAM) if found is not None else None

    def _take(self, message: StoredMessage, source: Source) -> None:
        if source is Source.REDELIVERY:
            self._redeliver.popleft()
        elif source is Source.BACKLOG:
            self._backlog.popleft()
        if source is not Source.REDELIVERY:
            self.delivered_sseq = max(self.delivered_sseq, message.seq)

    def _last(self) -> tuple[int, int]:
        return self.delivered_cseq, self.delivered_sseq

    # delivery ----------------------------------------------------------------------------------

    def pump(self) -> None:
        """Send what is deliverable now to where the sink says, as long as it takes messages."""
        if self._pumping or self._stopped:
            return
        self._pumping = True
        try:
            self._deliver_all()
        finally:
            self._pumping = False

    def _deliver_all(self) -> None:
        sink = self.sink
        pending: int | None = None
        while sink.ready():
            peeked = self._peek()
            if peeked is None:
                break
            message, source = peeked
            if self._replay_wait(message, source):
                return
            if pending is None:
                pending = self.num_pending()
            if source is not Source.REDELIVERY:
                pending -= 1
            entry = self.outstanding.get(message.seq) if source is Source.REDELIVERY else None
            deliveries = entry.deliveries + 1 if entry is not None else 1
            reply = ack_reply(self._ack_prefix, deliveries, message.seq, self.delivered_cseq + 1,
                              message.time_ns, pending)
            headers, data = self._presented(message)
            size = len(message.subject) + len(reply) + len(headers or b"") + len(data)
            to = sink.target(size)
            if to is None:
                break
            self._take(message, source)
            self._send(to, message, entry, reply, headers, data)
            sink.sent(size)
        sink.drained()

    def _presented(self, message: StoredMessage) -> tuple[bytes | None, bytes]:
        """headers_only: the stored headers plus Nats-Msg-Size, and no body."""
        if not self._headers_only:
            return message.headers, message.data
        base = message.headers[:-2] if message.headers else b"NATS/1.0\r\n"
        return base + b"Nats-Msg-Size: %d\r\n\r\n" % len(message.data), b""

    def _replay_wait(self, message: StoredMessage, source: Source) -> bool:
        """replay_policy original, until the messages there were at creation are out: each waits the
        gap between its stored time and the previous one's."""
        if source is Source.REDELIVERY or not self._replay_until:
            return False
        if self._replay_timer is not None:
            return True
        now = time.monotonic_ns()
        if not self._replay_due and self._replay_last_ns:
            gap = message.time_ns - self._replay_last_ns
            if gap > REPLAY_MIN_NS:
                self._replay_due = now + gap
        if self._replay_due > now:
            self._replay_timer = asyncio.get_running_loop().call_later((self._replay_due - now) / 1e9,
                                                                       self._replay_go)
            return True
        self._replay_due = 0
        self._replay_last_ns = message.time_ns
        if message.seq >= self._replay_until:
            self._replay_until = 0
        return False

    def _replay_go(self) -> None:
        self._replay_timer = None
        self.pump()

    def _send(self, to: str, message: StoredMessage, entry: Outstanding | None, reply: str,
              headers: bytes | None, data: bytes) -> None:
        self.delivered_cseq += 1
        self.last_delivered_ns = time.time_ns()
        if entry is not None:  # a redelivery
            entry.deliveries += 1
            self._await_ack(message.seq, entry, self._deadline(entry.deliveries))
        elif self._acks:
            entry = self.outstanding[message.seq] = Outstanding(self.delivered_cseq, 1, EntryState.AWAITING_ACK)
            self._await_ack(message.seq, entry, self._deadline(1))
        else:
            self.floor_sseq, self.floor_cseq = message.seq, self.delivered_cseq
            if self._floor_moved is not None:
                self._floor_moved(self)
            if self.acked is not None:
                self.acked(self, message.seq)
        self.account.publish_internal_as(to, message.subject, data, reply, headers)

    def _deadline(self, deliveries: int) -> int:
        """When a message delivered `deliveries` times is due again: backoff[deliveries-1] (its last
        value past the end), else ack_wait."""
        backoff = self.config.get("backoff")
        wait = backoff[min(deliveries, len(backoff)) - 1] if backoff else self.config.get("ack_wait", 0)
        return time.monotonic_ns() + wait

    def _sink_changed(self) -> None:
        """Push: interest came or went, or a flow-control reply opened the window."""
        if self.sink.busy():
            self._disarm_idle()
        else:
            self._arm_idle()
        self.pump()

    # pull requests ----------------------------------------------------------------------------

    def pull(self, reply: str, payload: bytes) -> None:
        """One CONSUMER.MSG.NEXT request (or the rest of a +NXT ack)."""
        sink = self.sink
        if not isinstance(sink, PullSink):
            self.account.publish_internal(reply, b"", headers=PUSH_BASED)
            return
        self._touch()
        if sink.add(reply, payload):
            self.pump()

    # inactivity --------------------------------------------------------------------------------

    def _arm_idle(self, after_ns: int = 0) -> None:
        """Start the inactivity clock (ephemerals, or durables with inactive_threshold), unless running:
        it checks after `after_ns`, or the threshold."""
        threshold = self.config.get("inactive_threshold", 0)
        if threshold and self._idle is None and not self._stopped:
            self._idle = asyncio.get_running_loop().call_later((after_ns or threshold) / 1e9, self._check_idle)

    def _disarm_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def _touch(self) -> None:
        """Pull activity (a request, an ack): the inactivity clock starts over (the running timer, when
        it fires, waits out the rest from the last activity: no timer per ack)."""
        if not self.push:
            self._active_ns = time.monotonic_ns()
            self._arm_idle()

    def _check_idle(self) -> None:
        self._idle = None
        if self.sink.busy():
            if not self.push:
                self._arm_idle()  # a waiting pull request is activity; push re-arms when interest goes
            return
        if not self.push:
            left = self._active_ns + self.config.get("inactive_threshold", 0) - time.monotonic_ns()
            if left > 0:
                self._arm_idle(left)
                return
        self._retire(self)

    # acks and redelivery -------------------------------------------------------------------------

    def _on_ack(self, subject: str, reply: str | None, headers: bytes | None, payload: bytes) -> int:
        sseq = acked_stream_seq(subject)
        kind = ack_kind(payload)
        if sseq is None or kind is None:
            return 1
        verb, rest = kind
        entry = self.outstanding.get(sseq)
        if verb is not AckKind.PROGRESS:
            self.last_ack_ns = time.time_ns()
        self._touch()
        lowest = next(iter(self.outstanding), 0)
        done: list[int] = []
        if verb in (AckKind.ACK, AckKind.NEXT):
            if self.config["ack_policy"] == "all":
                done = list(itertools.takewhile(lambda s: s <= sseq, self.outstanding))
            elif sseq in self.outstanding:
                done = [sseq]
        elif verb is AckKind.TERM:
            done = [sseq] if sseq in self.outstanding else []
        elif entry is None or entry.state is not EntryState.AWAITING_ACK:
            pass  # nothing to nak or extend
        elif verb is AckKind.NAK:
            delay = nak_delay_ns(rest)
            if delay:
                self._await_ack(sseq, entry, time.monotonic_ns() + delay)
            else:
                entry.state = EntryState.DUE
                self._redeliver.append(sseq)
        elif verb is AckKind.PROGRESS:
            self._await_ack(sseq, entry, time.monotonic_ns() + self.config["ack_wait"])
        for seq in done:
            self._forget(seq)
            if self.acked is not None:
                self.acked(self, seq)
        if lowest and lowest not in self.outstanding:
            self._move_floor()
        if reply and verb is AckKind.NEXT:
            self.pull(reply, rest)
        elif reply:
            self.account.publish_internal(reply, b"")
        self.pump()
        return 1

    def _move_floor(self) -> None:
        """The lowest outstanding message was acknowledged: the floor moves up to the next one (or to
        what was delivered when none is left); it never moves on deliveries, as in nats-server."""
        before = (self.floor_sseq, self.floor_cseq)
        if not self.outstanding:
            self.floor_sseq, self.floor_cseq = self.delivered_sseq, self.delivered_cseq
        else:
            lowest, entry = next(iter(self.outstanding.items()))
            self.floor_sseq, self.floor_cseq = lowest - 1, entry.first_cseq - 1
        if (self.floor_sseq, self.floor_cseq) != before and self._floor_moved is not None:
            self._floor_moved(self)

    def _forget(self, seq: int) -> None:
        """`seq` is no longer outstanding (acked, terminated, or gone from the stream)."""
        if self.outstanding.pop(seq).state is EntryState.EXHAUSTED:
            self._exhausted -= 1

    def _await_ack(self, seq: int, entry: Outstanding, deadline_ns: int) -> None:
        """`entry` waits for its ack until `deadline_ns`; the timer moves only when that is the earliest."""
        entry.state, entry.deadline_ns = EntryState.AWAITING_ACK, deadline_ns
        deadlines = self._deadlines
        heapq.heappush(deadlines, (deadline_ns, seq))
        if len(deadlines) > 2 * len(self.outstanding) + 64:  # mostly passed-over deadlines: rebuild
            deadlines[:] = [(e.deadline_ns, s) for s, e in self.outstanding.items()
                            if e.state is EntryState.AWAITING_ACK]
            heapq.heapify(deadlines)
        if self._timer is None or deadline_ns < self._timer_due_ns:
            self._arm(deadline_ns)

    def _current(self, deadline_ns: int, seq: int) -> bool:
        """Whether a kept deadline is still the one its message waits for."""
        entry = self.outstanding.get(seq)
        return entry is not None and entry.state is EntryState.AWAITING_ACK and entry.deadline_ns == deadline_ns

    def _arm(self, due_ns: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_due_ns = due_ns
        delay_s = max(0.0, (due_ns - time.monotonic_ns()) / 1e9)
        self._timer = asyncio.get_running_loop().call_later(delay_s, self._redeliver_due)

    def _redeliver_due(self) -> None:
        """The earliest deadline passed: what waits past its deadline is due again (in stream order), or
        exhausted at max_deliver; the timer is armed for the next deadline still current."""
        self._timer = None
        now = time.monotonic_ns()
        deadlines = self._deadlines
        due: set[int] = set()
        while deadlines and deadlines[0][0] <= now:
            deadline_ns, seq = heapq.heappop(deadlines)
            if self._current(deadline_ns, seq):
                due.add(seq)
        max_deliver = self.config["max_deliver"]
        for seq in sorted(due):
            entry = self.outstanding[seq]
            if 0 < max_deliver <= entry.deliveries:
                entry.state = EntryState.EXHAUSTED
                self._exhausted += 1
            else:
                entry.state = EntryState.DUE
                self._redeliver.append(seq)
        while deadlines and not self._current(*deadlines[0]):
            heapq.heappop(deadlines)
        if deadlines:
            self._arm(deadlines[0][0])
        self.pump()

    # info and lifecycle -----------------------------------------------------------------------

    def num_ack_pending(self) -> int:
        return len(self.outstanding) - self._exhausted

    def num_waiting(self) -> int:
        return len(self.sink.waiting) if isinstance(self.sink, PullSink) else 0

    def num_redelivered(self) -> int:
        if self.config["max_deliver"] == 1:
            return 0
        return sum(1 for entry in self.outstanding.values() if entry.deliveries > 1)

    def push_bound(self) -> bool:
        return isinstance(self.sink, PushSink) and self.sink.bound

    def stop(self) -> None:
        """Deleted (or its stream is): waiting requests are told; timers, the sink's subscriptions and
        the ack subscription end; an interest change still on its way finds it stopped."""
        self._stopped = True
        self.account.unsubscribe_internal(self._subscription)
        for timer in (self._idle, self._timer, self._replay_timer):
            if timer is not None:
                timer.cancel()
        self._idle = self._timer = self._replay_timer = None
        self.sink.stop()
