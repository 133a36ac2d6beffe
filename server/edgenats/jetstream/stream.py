"""A stream at run time: it captures the publishes on its subjects (one internal subscription per
subject, on the account's one routing path), runs the reference's header checks in order
(Nats-Expected-*, Nats-Msg-Id de-duplication, rollups), enforces its limits, appends to its store
and only then answers the PubAck. A publish is checked and appended in the publisher's routing call,
in arrival order; one whose checks read the stream's state (expectations, rollups, discard-new
limits, a repeated Nats-Msg-Id still being appended) waits in the stream's worker, with everything
captured behind it, until every append before it is answered, so every check sees the stream as the
previous publish left it. The appends are answered in order, a batch at a time, when the store
reports the commit that holds them (one call per commit), while the next ones are appended. PubAcks
go to their one-off reply subjects without caching a delivery plan for each. max_age and per-message
TTL expiry run on one timer; when they remove a subject's last message, a limit marker is published
through the same ingest path (subject_delete_marker_ttl)."""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edgenats.jetstream import errors, message_ttl, retention
from edgenats.jetstream.sourcing import Sourcing
from edgenats.jetstream.store import StoreClosedError, StoreWriteError, file_message_size, memory_message_size
from edgenats.monitor.formats import go_json
from edgenats.protocol.headers import HeaderError, Headers, parse_headers

if TYPE_CHECKING:
    from collections.abc import Callable

    from edgenats.account import Account
    from edgenats.jetstream.consumer import Consumer
    from edgenats.jetstream.store import MessageStore, StoredMessage

log = logging.getLogger("edgenats.jetstream")

MSG_ID = "Nats-Msg-Id"
EXPECTED_STREAM = "Nats-Expected-Stream"
EXPECTED_LAST_SEQ = "Nats-Expected-Last-Sequence"
EXPECTED_LAST_SUBJECT_SEQ = "Nats-Expected-Last-Subject-Sequence"
EXPECTED_LAST_SUBJECT_SEQ_SUBJECT = "Nats-Expected-Last-Subject-Sequence-Subject"
EXPECTED_LAST_MSG_ID = "Nats-Expected-Last-Msg-Id"
ROLLUP = "Nats-Rollup"
TTL = message_ttl.TTL
_STATEFUL_HEADERS = (EXPECTED_LAST_SUBJECT_SEQ, EXPECTED_LAST_SEQ, EXPECTED_LAST_MSG_ID, ROLLUP)


class StreamState(enum.Enum):
    OPEN = "open"  # capturing and storing
    DRAINING = "draining"  # shutting down: no new captures, what was captured is still stored and acked
    CLOSED = "closed"  # worker stopped (shut down or deleted)


@dataclass(slots=True)
class Captured:
    """A publish the stream captured and, once appended, what answering it needs."""
    subject: str
    reply: str | None
    headers: bytes | None
    payload: bytes
    size: int  # what it counts against the ingest buffer: subject, reply, headers and payload
    parsed: Headers | None  # the headers read (None without headers or when unreadable)
    msg_id: str = ""
    rollup: str | None = None
    ttl: int = 0  # ns; 0 none, message_ttl.NEVER never
    stored_ns: int = 0


@dataclass(frozen=True)
class IngestLimits:
    """nats-server's `max_buffered_msgs` / `max_buffered_size`: how much a stream holds captured and
    not yet stored and acknowledged; beyond it a publish is dropped (429 to a request), so a publisher
    that never waits for PubAcks cannot fill the memory."""

    msgs: int = 100_000
    bytes: int = 128 * 1024 * 1024


DEFAULT_INGEST = IngestLimits()
TOO_MANY_REQUESTS = b"NATS/1.0 429 Too Many Requests\r\n\r\n"
DROP_WARNING_INTERVAL_S = 10.0


def _as_int(text: str | None) -> int:
    try:
        return int(text or "")
    except ValueError:
        return 0


class Stream:
    def __init__(self, account: Account, config: dict, created_ns: int, store: MessageStore,
                 domain: str, ingest: IngestLimits, admit: Callable[[str, int, int], None]) -> None:
        self.account = account
        # Why the last message could not be stored (a full disk, an I/O error); None once one is again.
        self.write_error: str | None = None
        # Called before a message is stored (subject, headers length, payload length); raises an
        # errors.ApiError to refuse it (the account's and the server's limits for the stream's storage).
        self.admit = admit
        self.config = config
        self.created_ns = created_ns
        self.store = store
        self.domain = domain
        self.state = StreamState.OPEN
        self._queue: deque[Captured] = deque()
        self._limits = ingest
        self._buffered = 0  # captured and not yet answered: queued or appended
        self._buffered_bytes = 0
        self._warned_at = -DROP_WARNING_INTERVAL_S
        self._wake = asyncio.Event()
        self._subscriptions: list = []
        self.consumers: dict[str, Consumer] = {}
        # Nats-Msg-Id -> (seq, stored time ns), oldest first, for duplicate_window.
        self._msg_ids: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self._last_msg_id = ""
        # Appended, not yet answered, in order; answered as the store reports their batches stored.
        self._appended: deque[Captured] = deque()
        self._reports: deque[tuple[list[int], StoreWriteError | None]] = deque()
        self._answering = False
        self._idle: asyncio.Future[None] | None = None  # the worker waiting for every append answered
        self._appending_ids: dict[str, None] = {}  # the msg ids among them
        self._expiry: asyncio.TimerHandle | None = None
        self._expiry_due_ns = 0
        self._ttls = message_ttl.ExpiryQueue()
        self._never: set[int] = set()  # `Nats-TTL: never`: exempt from max_age
        # The PubAck up to its sequence number: {"stream":..,"domain":..,"seq":
        document = {"stream": self.name, **({"domain": domain} if domain else {})}
        self._ack_prefix = go_json(document, pretty=False)[:-1] + b',"seq":'
        store.report_to(self._batch_stored)
        self._recover_msg_ids()
        self._recover_ttls()
        # Removals by limits are not durable on their own: after a crash they are made again here.
        self.enforce_limits()
        self._subscribe()
        self._worker = asyncio.get_running_loop().create_task(self._run(), name=f"stream {self.name}")
        self._schedule_expiry()
        self.sourcing = Sourcing(self)
        self.sourcing.start()

    @property
    def name(self) -> str:
        return self.config["name"]

    # capture -----------------------------------------------------------------------------------

    def _subscribe(self) -> None:
        self._subscriptions = [self.account.subscribe_internal(subject, self._captured)
                               for subject in self.config.get("subjects", [])]

    def _unsubscribe(self) -> None:
        for subscription in self._subscriptions:
            self.account.unsubscribe_internal(subscription)
        self._subscriptions = []

    def _captured(self, subject: str, reply: str | None, headers: bytes | None, payload: bytes) -> int:
        """A publish on one of the stream's subjects, in the publisher's routing call: checked and
        appended at once, unless it must wait for the appends before it (then the worker takes it)."""
        if self.state is StreamState.OPEN:
            size = len(subject) + len(reply or "") + len(headers or b"") + len(payload)
            if self._buffered >= self._limits.msgs or self._buffered_bytes + size > self._limits.bytes:
                self._drop(reply)
                return 1
            self._buffered += 1
            self._buffered_bytes += size
            parsed = None
            if headers:
                try:
                    parsed = parse_headers(headers)
                except HeaderError:
                    parsed = None
            message = Captured(subject, reply, headers, payload, size, parsed)
            # (_must_wait's first test inline: this runs for every publish)
            if self._queue or (self._appended and (self._discards_new or parsed is not None)
                               and self._must_wait(message)):
                self._queue.append(message)  # behind those waiting, or waiting itself
                self._wake.set()
            else:
                self._take(message)
        return 1

    def _drop(self, reply: str | None) -> None:
        """The ingest buffer is full: nats-server's warning (at most every 10 s) and 429 to a request."""
        limit = "len" if self._buffered >= self._limits.msgs else "size"
        now = time.monotonic()
        if now - self._warned_at >= DROP_WARNING_INTERVAL_S:
            self._warned_at = now
            log.warning("Dropping messages due to excessive stream ingest rate on '%s' > '%s': IPQ %s limit reached",
                        self.account.name, self.name, limit)
        if reply:
            document = {"error": errors.too_many_requests().to_json(), "stream": self.name, "seq": 0}
            self.account.publish_internal(reply, go_json(document, pretty=False), headers=TOO_MANY_REQUESTS,
                                          once=True)

    def _finish(self, batch: list[Captured]) -> None:
        """Appends answered (or not stored): off the ingest buffer; their msg ids, remembered by now,
        are no longer being appended."""
        self._buffered -= len(batch)
        self._buffered_bytes -= sum([message.size for message in batch])
        if self._appending_ids:
            for message in batch:
                if message.msg_id:
                    self._appending_ids.pop(message.msg_id, None)

    def update(self, config: dict) -> None:
        """A validated update: new subjects are captured from now on, new limits apply at once."""
        subjects_changed = config.get("subjects", []) != self.config.get("subjects", [])
        self.config = config
        if subjects_changed:
            self._unsubscribe()
            self._subscribe()
        self.enforce_limits()
        self._release_unneeded()
        self._schedule_expiry()

    def append_sourced(self, subject: str, headers: bytes | None, payload: bytes, time_ns: int) -> None:
        """A message of the stream's mirror or of a source (sourcing.py), stored as it comes without
        the publish checks (in the ingest buffer until stored, beyond its limits), then treated as a
        stored publish without a reply."""
        if self.state is not StreamState.OPEN:
            return
        size = len(subject) + len(headers or b"") + len(payload)
        self.store.append(subject, headers, payload, time_ns)
        self._buffered += 1
        self._buffered_bytes += size
        self._appended.append(Captured(subject, None, headers, payload, size, None, stored_ns=time_ns))

    # the worker --------------------------------------------------------------------------------

    async def _run(self) -> None:
        """The worker: takes, in arrival order, the captured messages that must wait until every append
        before them is answered (their checks read the stream's state), and those captured behind them."""
        while True:
            while self._queue:
                if self._must_wait(self._queue[0]) and not await self._all_answered():
                    return  # the store closed: nothing more is stored or acknowledged
                self._take(self._queue.popleft())
            if self.state is not StreamState.OPEN:
                await self._all_answered()
                return
            self._wake.clear()
            await self._wake.wait()

    def _must_wait(self, message: Captured) -> bool:
        """Whether a message's checks need every append before it answered first (expectations,
        rollups, discard-new limits, a repeated Nats-Msg-Id still being appended) while some is not."""
        if not self._appended:
            return False
        if self._discards_new:
            return True
        headers = message.parsed
        if headers is None:
            return False
        msg_id = headers.get(MSG_ID)
        return (bool(msg_id) and msg_id in self._appending_ids) or any(
            headers.get(name) is not None for name in _STATEFUL_HEADERS)

    def _take(self, message: Captured) -> None:
        """Check and append one message (answered once its commit is done), or answer it now."""
        appended = False
        try:
            appended = self._ingest(message)
        except errors.ApiError as error:
            self._reply(message.reply, {"error": error.to_json(), "stream": self.name, "seq": 0})
        except StoreClosedError:
            pass  # deleted meanwhile: nothing stored, nothing acknowledged
        except Exception:
            # Nothing was acknowledged: the publisher sees no PubAck and may retry.
            log.exception("stream %s: storing a message on %s failed", self.name, message.subject)
        if not appended:
            self._finish([message])

    async def _all_answered(self) -> bool:
        """Wait until every append made so far is answered; False once the stream is closed (deleted)."""
        if self._appended:
            self._idle = asyncio.get_running_loop().create_future()
            await self._idle
        return self.state is not StreamState.CLOSED

    def _batch_stored(self, seqs: list[int], error: StoreWriteError | None) -> None:
        """The store's report of a batch: the next `len(seqs)` appends are durable (or failed). Answered
        here, in order; a report made while one is being answered (a rollup's purge commits what was
        appended before it) is answered after it."""
        self._reports.append((seqs, error))
        if not self._answering:
            self._answering = True
            try:
                self._answer_reports()
            finally:
                self._answering = False

    def _answer_reports(self) -> None:
        appended = self._appended
        while self._reports:
            seqs, error = self._reports.popleft()
            batch = [appended.popleft() for _ in seqs]
            if self.state is StreamState.CLOSED:
                self._finish(batch)  # deleted: nothing more is acknowledged
            elif error is not None:
                self._failed(batch, error)
            else:
                self.write_error = None
                for message, seq in zip(batch, seqs, strict=True):
                    try:
                        self._stored(message, seq)
                    except Exception:
                        log.exception("stream %s: answering seq %d failed", self.name, seq)
                self._finish(batch)
                self._pump_consumers()
        if not appended and self._idle is not None:
            if not self._idle.done():
                self._idle.set_result(None)
            self._idle = None

    def _failed(self, batch: list[Captured], error: StoreWriteError) -> None:
        """Nothing of a batch was kept (a full disk, an I/O error): each publisher is told, the stream
        goes on."""
        self.write_error = str(error)
        log.error("stream %s: storing %d message(s) failed: %s", self.name, len(batch), error)
        refusal = {"error": errors.storage_resources_exceeded().to_json(), "stream": self.name, "seq": 0}
        self._finish(batch)
        for message in batch:
            self._reply(message.reply, refusal)

    def _stored(self, message: Captured, seq: int) -> None:
        """A message is kept: its TTL, msg id, rollup and limits apply, then its PubAck is sent."""
        if message.ttl:
            self._track_ttl(seq, message.ttl, message.stored_ns)
        if message.msg_id:
            self._remember(message.msg_id, seq)
        if message.rollup is not None or self._limited:
            try:
                if message.rollup == "sub":
                    self.store.purge(subject_filter=message.subject, up_to_seq=seq)
                elif message.rollup == "all":
                    self.store.purge(up_to_seq=seq)
                self.enforce_limits(message.subject)
                if self.config["retention"] == retention.INTEREST:
                    retention.release(retention.INTEREST, self.consumers.values(), self.store, [seq])
            except Exception:
                log.exception("stream %s: applying limits after seq %d failed", self.name, seq)
        if message.ttl > 0 or self._ages:
            if self._expiry is None or (message.ttl > 0 and message.stored_ns + message.ttl < self._expiry_due_ns):
                self._schedule_expiry()  # else the armed timer is due first (no store read per publish)
        if message.reply and not self._no_ack:
            # Byte for byte as nats-server writes it, straight to the routing path (no headers).
            ack = b"%s%d}\r\n" % (self._ack_prefix, seq)
            self.account.publish(message.reply.encode("latin-1"), None, -1, len(ack) - 2, ack, once=True)

    def _pump_consumers(self) -> None:
        for consumer in list(self.consumers.values()):
            consumer.pump()

    @property
    def config(self) -> dict:
        return self._config

    @config.setter
    def config(self, config: dict) -> None:
        """A new config, and what the publish checks read of it once rather than per message."""
        self._config = config
        # What a stored message may need done after it: discard-old limits, interest retention.
        self._limited = (config["max_msgs_per_subject"] > 0 or config["max_msgs"] > 0 or config["max_bytes"] > 0
                         or config["retention"] == retention.INTEREST)
        self._ages = bool(config["max_age"])
        self._no_ack = bool(config.get("no_ack"))
        self._sealed = bool(config["sealed"])
        self._max_msg_size = config["max_msg_size"]
        self._discards_new = config["discard"] == "new" and (
            config["max_msgs"] > 0 or config["max_bytes"] > 0
            or bool(config.get("discard_new_per_subject") and config["max_msgs_per_subject"] > 0))

    def _ingest(self, message: Captured) -> bool:
        """Check and append one message (every append it must wait for is answered); True once
        appended (answered when its commit is done), False when answered now (a duplicate)."""
        config = self._config
        headers = message.parsed
        msg_id = ""
        rollup = None
        ttl = 0
        stored_headers = message.headers
        if self._sealed:
            raise errors.sealed_stream()
        if headers is not None:
            expected = headers.get(EXPECTED_STREAM)
            if expected is not None and expected != self.name:
                raise errors.expected_stream_mismatch()
            asked_ttl = _asked_ttl(headers.get(TTL))
            if asked_ttl is not None and not config["allow_msg_ttl"]:
                raise errors.ttl_disabled()
            expected = headers.get(EXPECTED_LAST_SUBJECT_SEQ)
            if expected is not None:
                on_subject = headers.get(EXPECTED_LAST_SUBJECT_SEQ_SUBJECT) or message.subject
                last = self.store.last_for_subject(on_subject)
                actual = last.seq if last is not None else 0
                if _as_int(expected) != actual:
                    raise errors.wrong_last_sequence(actual)
            expected = headers.get(EXPECTED_LAST_SEQ)
            if expected is not None:
                actual = self.store.state().last_seq
                if _as_int(expected) != actual:
                    raise errors.wrong_last_sequence(actual)
            msg_id = headers.get(MSG_ID) or ""
            if msg_id:
                seen = self._seen(msg_id)
                if seen is not None:
                    self._ack_duplicate(message.reply, seen)
                    return False
            expected = headers.get(EXPECTED_LAST_MSG_ID)
            if expected is not None and expected != self._last_msg_id:
                raise errors.wrong_last_msg_id(self._last_msg_id)
            rollup = headers.get(ROLLUP)
            if rollup is not None:
                if not config["allow_rollup_hdrs"] or config["deny_purge"]:
                    raise errors.rollup_refused("rollup not permitted")
                if rollup not in ("sub", "all"):
                    raise errors.rollup_refused(f'rollup value invalid: "{rollup}"')
            if headers.get(TTL):
                ttl, stored_headers = self._message_ttl(asked_ttl, message.headers)
        headers_len = len(message.headers) if message.headers else 0
        if 0 <= self._max_msg_size < headers_len + len(message.payload):
            raise errors.message_too_big()
        self.admit(message.subject, headers_len, len(message.payload))
        if self._discards_new:
            self._check_room(message)
        stored_ns = time.time_ns()
        self.store.append(message.subject, stored_headers, message.payload, stored_ns)
        message.stored_ns = stored_ns
        if headers is not None:  # (without headers they keep their defaults)
            message.msg_id, message.rollup, message.ttl = msg_id, rollup, ttl
        self._appended.append(message)
        if msg_id:
            self._appending_ids[msg_id] = None
        return True

    def _message_ttl(self, ttl: int | None, headers: bytes) -> tuple[int, bytes]:
        """The TTL a publish asks for, and its headers as stored: below the marker TTL a TTL is raised
        to it (unless each subject keeps one message), and the stored header says so."""
        if ttl is None:
            raise errors.invalid_ttl()
        marker_ttl = self.config.get("subject_delete_marker_ttl", 0)
        if 0 < ttl < marker_ttl and self.config["max_msgs_per_subject"] != 1:
            return marker_ttl, message_ttl.with_ttl(headers, marker_ttl // message_ttl.SECOND)
        return ttl, headers

    def _track_ttl(self, seq: int, ttl: int, stored_ns: int) -> None:
        if ttl == message_ttl.NEVER:
            self._never.add(seq)
        elif ttl:
            self._ttls.add(seq, stored_ns + ttl)

    def _check_room(self, message: Captured) -> None:
        config = self.config
        state = self.store.state()
        if config["max_msgs"] > 0 and state.messages >= config["max_msgs"]:
            raise errors.store_limit("maximum messages exceeded")
        if config["max_bytes"] > 0:
            measure = memory_message_size if config["storage"] == "memory" else file_message_size
            size = measure(message.subject, len(message.headers or b""), len(message.payload))
            if state.bytes + size > config["max_bytes"]:
                raise errors.store_limit("maximum bytes exceeded")
        per_subject = config["max_msgs_per_subject"]
        if (config.get("discard_new_per_subject") and per_subject > 0
                and self.store.count_for_subject(message.subject) >= per_subject):
            raise errors.store_limit("maximum messages per subject exceeded")

    def enforce_limits(self, subject: str | None = None) -> None:
        """discard:old limits: drop the oldest messages (of `subject` for the per-subject limit, of
        every subject when none is given) until the stream is within its limits."""
        config = self.config
        per_subject = config["max_msgs_per_subject"]
        if per_subject > 0:
            for name in [subject] if subject is not None else list(self.store.subjects()):
                while self.store.count_for_subject(name) > per_subject:
                    self.store.discard(self.store.first_seq_for_subject(name))
        max_msgs, max_bytes = config["max_msgs"], config["max_bytes"]
        while max_msgs > 0 or max_bytes > 0:
            state = self.store.state()
            if not ((0 < max_msgs < state.messages) or (0 < max_bytes < state.bytes)):
                break
            self.store.discard(state.first_seq)

    # de-duplication ----------------------------------------------------------------------------

    def _seen(self, msg_id: str) -> int | None:
        self._forget_old_msg_ids()
        found = self._msg_ids.get(msg_id)
        return found[0] if found is not None else None

    def _remember(self, msg_id: str, seq: int) -> None:
        self._msg_ids[msg_id] = (seq, time.time_ns())
        self._msg_ids.move_to_end(msg_id)
        self._last_msg_id = msg_id

    def _forget_old_msg_ids(self) -> None:
        horizon = time.time_ns() - self.config.get("duplicate_window", 0)
        while self._msg_ids:
            msg_id, (_, stored_ns) = next(iter(self._msg_ids.items()))
            if stored_ns >= horizon:
                break
            del self._msg_ids[msg_id]

    def _recover_msg_ids(self) -> None:
        """After a restart: the msg ids stored within the duplicate window, read newest first."""
        state = self.store.state()
        horizon = time.time_ns() - self.config.get("duplicate_window", 0)
        found: list[tuple[str, int, int]] = []
        seq = state.last_seq
        while seq >= state.first_seq and seq > 0:
            stored = self.store.get(seq)
            seq -= 1
            if stored is None:
                continue
            if stored.time_ns < horizon:
                break
            msg_id = _msg_id_of(stored)
            if msg_id:
                found.append((msg_id, stored.seq, stored.time_ns))
        for msg_id, stored_seq, stored_ns in reversed(found):
            self._msg_ids[msg_id] = (stored_seq, stored_ns)
            self._msg_ids.move_to_end(msg_id)
            self._last_msg_id = msg_id

    # expiry: max_age and per-message TTLs ---------------------------------------------------

    def _recover_ttls(self) -> None:
        """After a restart: the TTL of every stored message, from its headers."""
        if not self.config["allow_msg_ttl"]:
            return
        found = self.store.oldest()
        while found is not None:
            self._track_ttl(found.seq, message_ttl.ttl_of(found.headers), found.time_ns)
            found = self.store.next_for_subject(">", found.seq + 1)

    def _oldest_aging(self) -> StoredMessage | None:
        """The oldest message max_age applies to (`Nats-TTL: never` ones are exempt)."""
        found = self.store.oldest()
        while found is not None and found.seq in self._never:
            found = self.store.next_for_subject(">", found.seq + 1)
        return found

    def _schedule_expiry(self) -> None:
        """One timer for the earliest of: the oldest message reaching max_age, a message's TTL."""
        if self.state is not StreamState.OPEN:
            return
        candidates = [self._ttls.next_due()]
        max_age = self.config["max_age"]
        if max_age and (oldest := self._oldest_aging()) is not None:
            candidates.append(oldest.time_ns + max_age)
        due = min((at for at in candidates if at is not None), default=None)
        if self._expiry is not None:
            if due == self._expiry_due_ns:
                return
            self._expiry.cancel()
            self._expiry = None
        if due is None:
            return
        self._expiry_due_ns = due
        self._expiry = asyncio.get_running_loop().call_later(max(0.0, (due - time.time_ns()) / 1e9), self._expire)

    def _expire(self) -> None:
        self._expiry = None
        now = time.time_ns()
        removed: list[StoredMessage] = []
        if self.config["max_age"]:
            horizon = now - self.config["max_age"]
            found = self._oldest_aging()
            while found is not None and found.time_ns <= horizon:
                if found.seq not in self._never:
                    self.store.discard(found.seq)
                    removed.append(found)
                found = self.store.next_for_subject(">", found.seq + 1)
        for seq in self._ttls.pop_due(now):
            found = self.store.get(seq)
            if found is not None and self.store.discard(seq):
                removed.append(found)
        self._mark_removed(removed)
        self._schedule_expiry()

    def _mark_removed(self, removed: list[StoredMessage]) -> None:
        """Limit markers (ADR-43): a subject whose last message aged out gets an empty `MaxAge` marker
        that itself expires after subject_delete_marker_ttl. Markers that expire leave none."""
        marker_ttl = self.config.get("subject_delete_marker_ttl", 0)
        if not marker_ttl:
            return
        marked: set[str] = set()
        for found in removed:
            if (found.subject in marked or message_ttl.is_marker(found.headers)
                    or self.store.count_for_subject(found.subject)):
                continue
            marked.add(found.subject)
            self._captured(found.subject, None, message_ttl.marker_headers("MaxAge", marker_ttl), b"")

    # retention -------------------------------------------------------------------------------

    def consumer_acked(self, consumer: Consumer, seq: int) -> None:
        """A consumer is done with `seq` (acked, terminated, or delivered without acks; with ack all,
        with everything up to it): interest and workqueue streams drop what nobody needs now."""
        policy = self.config["retention"]
        if policy == retention.LIMITS:
            return
        seqs = retention.stored_up_to(self.store, seq) if consumer.config["ack_policy"] == "all" else [seq]
        retention.release(policy, self.consumers.values(), self.store, seqs)

    def consumer_removed(self) -> None:
        """On an interest stream, what only the removed consumer still needed goes."""
        self._release_unneeded()

    def _release_unneeded(self) -> None:
        """Interest streams: every stored message no consumer needs goes (also when a stream becomes one)."""
        if self.config["retention"] == retention.INTEREST:
            retention.release(retention.INTEREST, self.consumers.values(), self.store,
                              retention.stored_up_to(self.store))

    # replies -----------------------------------------------------------------------------------

    def _ack_duplicate(self, reply: str | None, seq: int) -> None:
        if reply and not self._no_ack:
            # Byte for byte as nats-server writes it, duplicate flag included.
            self.account.publish_internal(reply, b'%s%d,"duplicate": true}' % (self._ack_prefix, seq), once=True)

    def _reply(self, reply: str | None, document: dict) -> None:
        if reply and not self._no_ack:
            self.account.publish_internal(reply, go_json(document, pretty=False), once=True)

    # lifecycle ---------------------------------------------------------------------------------

    def _stop_consumers(self) -> None:
        self.sourcing.stop()
        for consumer in self.consumers.values():
            consumer.stop()
        self.consumers.clear()

    async def close(self) -> None:
        """Server shutdown: stop capturing, store and acknowledge what was captured, close the store."""
        self._stop_consumers()
        self._unsubscribe()
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        self.state = StreamState.DRAINING
        self._wake.set()
        await self._worker
        self.state = StreamState.CLOSED
        await self.store.close()

    def destroy(self) -> None:
        """STREAM.DELETE: stop at once; what was captured and not yet stored is dropped unacknowledged."""
        self._stop_consumers()
        self._unsubscribe()
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        self.state = StreamState.CLOSED
        self._queue.clear()
        self._wake.set()
        self.store.destroy()


def _asked_ttl(value: str | None) -> int | None:
    """A `Nats-TTL` value read: None when absent, empty or unreadable (refused later, as nats-server
    refuses an unreadable TTL only after the de-duplication checks)."""
    if not value:
        return None
    try:
        return message_ttl.parse_ttl(value)
    except errors.ApiError:
        return None


def _msg_id_of(stored: StoredMessage) -> str:
    if not stored.headers:
        return ""
    try:
        return parse_headers(stored.headers).get(MSG_ID) or ""
    except HeaderError:
        return ""
