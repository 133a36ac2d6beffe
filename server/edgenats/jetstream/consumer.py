"""A pull consumer at run time: where it is in its stream (delivered, ack floor), the outstanding set
with each message's delivery count and ack deadline, the redelivery queue and the FIFO of waiting
pull requests. Messages go out with the V1 ack reply `$JS.ACK.<stream>.<consumer>.<delivered>.
<sseq>.<cseq>.<ts_ns>.<pending>`; acks arrive on one internal subscription per consumer."""

from __future__ import annotations

import asyncio
import enum
import json
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edgenats.jetstream import consumer_config

if TYPE_CHECKING:
    from collections.abc import Callable

    from edgenats.account import Account
    from edgenats.jetstream.store import MessageStore, StoredMessage

NO_MESSAGES = b"NATS/1.0 404 No Messages\r\n\r\n"
EXCEEDED_MAX_WAITING = b"NATS/1.0 409 Exceeded MaxWaiting\r\n\r\n"
CONSUMER_DELETED = b"NATS/1.0 409 Consumer Deleted\r\n\r\n"
BAD_REQUEST = b"NATS/1.0 400 Bad Request\r\n\r\n"


def request_timeout(batch_left: int) -> bytes:
    return (f"NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: {batch_left}\r\n"
            f"Nats-Pending-Bytes: 0\r\n\r\n").encode()


class AckKind(enum.Enum):
    ACK = "ack"
    NAK = "nak"
    TERM = "term"
    PROGRESS = "progress"
    NEXT = "next"  # ack, then the rest is a pull request answered on the ack's reply


def ack_kind(payload: bytes) -> tuple[AckKind, bytes] | None:
    """(kind, what follows the verb), or None for what is not an ack (ignored, as the reference does)."""
    text = payload.strip()
    for verb, kind in ((b"+ACK", AckKind.ACK), (b"+OK", AckKind.ACK), (b"-NAK", AckKind.NAK),
                       (b"+TERM", AckKind.TERM), (b"+WPI", AckKind.PROGRESS),
                       (b"+NXT", AckKind.NEXT)):
        if text.startswith(verb):
            return kind, text[len(verb):].strip()
    return (AckKind.ACK, b"") if not text else None


def pull_request(payload: bytes) -> tuple[int, int, bool] | None:
    """A CONSUMER.MSG.NEXT body as (batch, expires ns, no_wait): empty is one message without expiry,
    a bare integer a batch size, else a JSON object; None when it is none of these."""
    text = payload.strip()
    if not text:
        return 1, 0, False
    if text.isdigit():
        return int(text), 0, False
    try:
        request = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(request, dict):
        return None
    batch, expires = request.get("batch") or 1, request.get("expires") or 0
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in (batch, expires)):
        return None
    return batch, expires, request.get("no_wait") is True


def _nak_delay_ns(rest: bytes) -> int:
    if not rest.startswith(b"{"):
        return 0
    try:
        delay = json.loads(rest).get("delay", 0)
    except (ValueError, AttributeError):
        return 0
    return delay if isinstance(delay, int) and delay > 0 else 0


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


@dataclass(slots=True)
class PullRequest:
    reply: str
    batch: int
    no_wait: bool
    expires_ns: int
    sent: int = 0
    timer: asyncio.TimerHandle | None = None


class Consumer:
    def __init__(self, account: Account, stream_name: str, store: MessageStore, name: str, config: dict,
                 created_ns: int, retire: Callable[[Consumer], None],
                 floor_moved: Callable[[Consumer], None] | None = None,
                 acked: Callable[[Consumer, int], None] | None = None) -> None:
        """`retire(consumer)` removes it from its stream when `inactive_threshold` passes idle;
        `floor_moved(consumer)` is told each move of the ack floor (to keep a durable's position);
        `acked(consumer, seq)` each message it is done with (acked, terminated, or sent without acks)."""
        self.account = account
        self._retire = retire
        self._floor_moved = floor_moved
        self._acked = acked
        self._idle: asyncio.TimerHandle | None = None
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
        self.outstanding: dict[int, Outstanding] = {}
        self._redeliver: deque[int] = deque()
        self._backlog: deque[int] = deque()  # last_per_subject: the initial per-subject last messages
        self._waiting: deque[PullRequest] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._start()
        self.floor_sseq = self.delivered_sseq
        self._ack_prefix = f"$JS.ACK.{stream_name}.{self.name}."
        self._subscription = account.subscribe_internal(self._ack_prefix + ">", self._on_ack)
        self._touch()

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

    @property
    def acks(self) -> bool:
        return self.config["ack_policy"] != "none"

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
        elif policy == "last_per_subject":
            seqs = sorted({m.seq for f in self.filters for subject in store.subjects(f)
                           if (m := store.last_for_subject(subject)) is not None})
            self._backlog.extend(seqs)
            self.delivered_sseq = seqs[0] - 1 if seqs else state.last_seq

    @property
    def filters(self) -> list[str]:
        return consumer_config.filters(self.config)

    # what there is to deliver -----------------------------------------------------------------

    def _next_new(self, after: int) -> StoredMessage | None:
        store = self.store
        filters = self.filters
        if len(filters) == 1:
            return store.next_for_subject(filters[0], after + 1)
        found = [m for f in filters if (m := store.next_for_subject(f, after + 1)) is not None]
        return min(found, key=lambda m: m.seq) if found else None

    def num_pending(self) -> int:
        count = sum(1 for seq in self._backlog if self.store.get(seq) is not None)
        after = max(self.delivered_sseq, self._backlog[-1] if self._backlog else 0)
        # filter_subjects do not overlap (nats-server refuses overlapping ones), so counts add up.
        return count + sum(self.store.count_after(subject_filter, after) for subject_filter in self.filters)

    def _take_new(self) -> StoredMessage | None:
        while self._backlog:
            found = self.store.get(self._backlog.popleft())
            if found is not None:
                return found
        return self._next_new(self.delivered_sseq)

    def _take(self) -> tuple[StoredMessage, bool] | None:
        """The next message to send and whether it is new: due redeliveries first."""
        while self._redeliver:
            seq = self._redeliver.popleft()
            entry = self.outstanding.get(seq)
            if entry is None or entry.state is not EntryState.DUE:
                continue
            found = self.store.get(seq)
            if found is None:
                del self.outstanding[seq]
                continue
            return found, False
        limit = self.config.get("max_ack_pending", -1)
        if self.acks and 0 < limit <= self.num_ack_pending():
            return None
        found = self._take_new()
        return (found, True) if found is not None else None

    # pull requests ----------------------------------------------------------------------------

    def pull(self, reply: str, payload: bytes) -> None:
        """One CONSUMER.MSG.NEXT request (or the rest of a +NXT ack)."""
        parsed = pull_request(payload)
        if parsed is None:
            self.account.publish_internal(reply, b"", headers=BAD_REQUEST)
            return
        batch, expires_ns, no_wait = parsed
        if len(self._waiting) >= self.config["max_waiting"]:
            self.account.publish_internal(reply, b"", headers=EXCEEDED_MAX_WAITING)
            return
        self._touch()
        request = PullRequest(reply, max(batch, 1), no_wait, expires_ns)
        self._waiting.append(request)
        self.pump()
        if request in self._waiting and expires_ns:
            request.timer = asyncio.get_running_loop().call_later(expires_ns / 1e9, self._expire, request)

    def _touch(self) -> None:
        """Activity: the inactivity clock (ephemerals, or durables with inactive_threshold) starts over."""
        threshold = self.config.get("inactive_threshold", 0)
        if not threshold:
            return
        if self._idle is not None:
            self._idle.cancel()
        self._idle = asyncio.get_running_loop().call_later(threshold / 1e9, self._check_idle)

    def _check_idle(self) -> None:
        self._idle = None
        if self._waiting:
            self._touch()  # a waiting pull request is activity
        else:
            self._retire(self)

    def _expire(self, request: PullRequest) -> None:
        if request in self._waiting:
            self._waiting.remove(request)
            self.account.publish_internal(request.reply, b"", headers=request_timeout(request.batch))

    def _finish(self, request: PullRequest, status: bytes | None) -> None:
        self._waiting.remove(request)
        if request.timer is not None:
            request.timer.cancel()
        if status is not None:
            self.account.publish_internal(request.reply, b"", headers=status)

    def pump(self) -> None:
        """Serve waiting requests, oldest first, with what is deliverable now."""
        pending: int | None = None
        while self._waiting:
            request = self._waiting[0]
            if not self.account.has_interest(request.reply):
                self._finish(request, None)  # the requester is gone: dropped silently
                continue
            if pending is None:
                pending = self.num_pending()
            taken = self._take()
            if taken is None:
                break
            message, new = taken
            if new:
                pending -= 1
                self.delivered_sseq = max(self.delivered_sseq, message.seq)
            self._send(request, message, pending)
            request.batch -= 1
            request.sent += 1
            if request.batch == 0:
                self._finish(request, None)
        # no_wait ends at the end of the data, unless it has an expiry and got nothing yet (then it waits).
        for request in [r for r in self._waiting if r.no_wait and (r.sent or not r.expires_ns)]:
            self._finish(request, NO_MESSAGES)

    def _send(self, request: PullRequest, message: StoredMessage, pending: int) -> None:
        self.delivered_cseq += 1
        self.last_delivered_ns = time.time_ns()
        deadline = time.monotonic_ns() + self.config.get("ack_wait", 0)
        entry = self.outstanding.get(message.seq)
        if entry is not None:  # a redelivery
            entry.deliveries += 1
            entry.state, entry.deadline_ns = EntryState.AWAITING_ACK, deadline
            deliveries = entry.deliveries
        else:
            deliveries = 1
        if self.acks:
            if entry is None:
                self.outstanding[message.seq] = Outstanding(self.delivered_cseq, 1, EntryState.AWAITING_ACK, deadline)
            self._schedule()
        else:
            self.floor_sseq, self.floor_cseq = message.seq, self.delivered_cseq
            if self._floor_moved is not None:
                self._floor_moved(self)
        reply = (f"{self._ack_prefix}{deliveries}.{message.seq}.{self.delivered_cseq}."
                 f"{message.time_ns}.{max(pending, 0)}")
        self.account.publish_internal_as(request.reply, message.subject, message.data, reply, message.headers)
        if not self.acks and self._acked is not None:
            self._acked(self, message.seq)

    # acks and redelivery -------------------------------------------------------------------------

    def _on_ack(self, subject: str, reply: str | None, headers: bytes | None, payload: bytes) -> int:
        tokens = subject.split(".")
        if len(tokens) < 9 or not tokens[-4].isdigit():
            return 1
        kind = ack_kind(payload)
        if kind is None:
            return 1
        verb, rest = kind
        sseq = int(tokens[-4])
        entry = self.outstanding.get(sseq)
        if verb is not AckKind.PROGRESS:
            self.last_ack_ns = time.time_ns()
        self._touch()
        lowest = min(self.outstanding, default=0)
        if verb in (AckKind.ACK, AckKind.NEXT):
            if self.config["ack_policy"] == "all":
                for seq in [s for s in self.outstanding if s <= sseq]:
                    del self.outstanding[seq]
            else:
                self.outstanding.pop(sseq, None)
        elif verb is AckKind.TERM:
            self.outstanding.pop(sseq, None)
        elif entry is None or entry.state is not EntryState.AWAITING_ACK:
            pass  # nothing to nak or extend
        elif verb is AckKind.NAK:
            delay = _nak_delay_ns(rest)
            if delay:
                entry.deadline_ns = time.monotonic_ns() + delay
            else:
                entry.state = EntryState.DUE
                self._redeliver.append(sseq)
        elif verb is AckKind.PROGRESS:
            entry.deadline_ns = time.monotonic_ns() + self.config["ack_wait"]
        if lowest and lowest not in self.outstanding:
            self._move_floor()
        if verb in (AckKind.ACK, AckKind.NEXT, AckKind.TERM) and self._acked is not None:
            self._acked(self, sseq)
        if reply and verb is AckKind.NEXT:
            self.pull(reply, rest)
        elif reply:
            self.account.publish_internal(reply, b"")
        self._schedule()
        self.pump()
        return 1

    def _move_floor(self) -> None:
        """The lowest outstanding message was acknowledged: the floor moves up to the next one (or to
        what was delivered when none is left); it never moves on deliveries, as in nats-server."""
        before = (self.floor_sseq, self.floor_cseq)
        if not self.outstanding:
            self.floor_sseq, self.floor_cseq = self.delivered_sseq, self.delivered_cseq
        else:
            self.floor_sseq = min(self.outstanding) - 1
            self.floor_cseq = self.outstanding[self.floor_sseq + 1].first_cseq - 1
        if (self.floor_sseq, self.floor_cseq) != before and self._floor_moved is not None:
            self._floor_moved(self)

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadlines = [e.deadline_ns for e in self.outstanding.values() if e.state is EntryState.AWAITING_ACK]
        if deadlines:
            due_s = max(0.0, (min(deadlines) - time.monotonic_ns()) / 1e9)
            self._timer = asyncio.get_running_loop().call_later(due_s, self._redeliver_due)

    def _redeliver_due(self) -> None:
        self._timer = None
        now = time.monotonic_ns()
        max_deliver = self.config["max_deliver"]
        for seq in sorted(self.outstanding):
            entry = self.outstanding[seq]
            if entry.state is not EntryState.AWAITING_ACK or entry.deadline_ns > now:
                continue
            if 0 < max_deliver <= entry.deliveries:
                entry.state = EntryState.EXHAUSTED
            else:
                entry.state = EntryState.DUE
                self._redeliver.append(seq)
        self._schedule()
        self.pump()

    # info and lifecycle -----------------------------------------------------------------------

    def num_ack_pending(self) -> int:
        return sum(1 for entry in self.outstanding.values() if entry.state is not EntryState.EXHAUSTED)

    def num_waiting(self) -> int:
        return len(self._waiting)

    def num_redelivered(self) -> int:
        if self.config["max_deliver"] == 1:
            return 0
        return sum(1 for entry in self.outstanding.values() if entry.deliveries > 1)

    def stop(self) -> None:
        """Deleted (or its stream is): waiting requests are told, timers and the ack subscription end."""
        self.account.unsubscribe_internal(self._subscription)
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._waiting:
            self._finish(self._waiting[0], CONSUMER_DELETED)
