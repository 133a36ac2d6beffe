"""The message store contract every JetStream stream is built on: the `MessageStore` protocol, the
stored message and store state records (and how a stored time is written), the sync policy of file
stores, and nats-server's per-message byte accounting (so `bytes` in STREAM.INFO matches nats-server
for both storage types), and the lookup of the first sequence stored at a time."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .limits import Usage

ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass(frozen=True, slots=True)
class StoredMessage:
    seq: int
    subject: str
    headers: bytes | None  # a whole NATS/1.0 block or None
    data: bytes
    time_ns: int  # UTC nanoseconds since the epoch, when stored


@dataclass(slots=True)
class StoreState:
    messages: int
    bytes: int
    first_seq: int  # an empty stream that held messages has first_seq = last_seq + 1
    first_time_ns: int  # 0 when empty
    last_seq: int
    last_time_ns: int
    num_deleted: int  # interior gaps between first_seq and last_seq
    num_subjects: int


@dataclass(frozen=True, slots=True)
class SyncPolicy:
    """nats-server's jetstream `sync_interval`: `always` makes every commit durable on disk before an
    append completes; otherwise data reaches the disk at most `interval_s` after its commit."""

    always: bool = False
    interval_s: float = 120.0


class StoreClosedError(Exception):
    """The store was closed or destroyed; appends still waiting for a commit fail with this."""


class StoreWriteError(Exception):
    """The store could not write an append (disk full, I/O error); the store stays open."""


# What a store reports of each batch of appends, in append order: their sequences and None once they
# are durable, or (nothing of them kept) as many sequences as there were appends and the error.
StoredReport = Callable[[list[int], "StoreWriteError | None"], None]


def memory_message_size(subject: str, headers_len: int, data_len: int) -> int:
    """nats-server's memStoreMsgSize: subject + headers + payload + 16 (sequence and timestamp)."""
    return len(subject) + headers_len + data_len + 16


def file_message_size(subject: str, headers_len: int, data_len: int) -> int:
    """nats-server's fileStoreMsgSize: the message block record length (30 bytes of framing, 4 more and
    the headers when there are headers)."""
    if not headers_len:
        return 30 + len(subject) + data_len
    return 34 + len(subject) + headers_len + data_len


def timestamp(ns: int) -> str:
    """A stored time (UTC ns) as Go's RFC3339Nano; zero is Go's zero time."""
    if not ns:
        return ZERO_TIME
    secs, frac = divmod(ns, 1_000_000_000)
    return _utc_second(secs) + (f".{frac:09d}".rstrip("0") if frac else "") + "Z"


@functools.lru_cache(maxsize=64)
def _utc_second(secs: int) -> str:
    """A second as RFC3339 in UTC, without fraction or zone; messages stored together share theirs."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))


def first_seq_at(store: MessageStore, time_ns: int) -> int:
    """The first sequence stored at or after `time_ns` (the one after the last when none is)."""
    state = store.state()
    low, high = max(state.first_seq, 1), state.last_seq + 1
    while low < high:  # stored times rise with sequences; deleted sequences are stepped over
        middle = (low + high) // 2
        probe = middle
        while probe < high and (found := store.get(probe)) is None:
            probe += 1
        if probe == high or found.time_ns >= time_ns:
            high = middle
        else:
            low = probe + 1
    return low


class MessageStore(Protocol):
    def report_to(self, report: StoredReport) -> None:
        """Who is told of appends stored (the stream); set before the first append."""

    def append(self, subject: str, headers: bytes | None, data: bytes, time_ns: int) -> None:
        """Store the next message. Appends complete in call order, a batch at a time: the appends made
        while a commit is being written share the next commit (group commit), and once a batch is
        durable at the store's sync setting its sequences are reported in one call, on the event loop
        (never inside `append`). Raises StoreClosedError once the store is closed."""

    def get(self, seq: int) -> StoredMessage | None: ...

    def last_for_subject(self, subject_filter: str) -> StoredMessage | None:
        """The newest message matching the filter (wildcards allowed)."""

    def next_for_subject(self, subject_filter: str, start_seq: int) -> StoredMessage | None:
        """The first message with seq >= start_seq matching the filter (wildcards allowed)."""

    def count_after(self, subject_filter: str, seq: int) -> int:
        """How many messages above `seq` match the filter (wildcards allowed), without reading them."""

    def count_for_subject(self, subject: str) -> int:
        """How many messages a literal subject holds."""

    def first_seq_for_subject(self, subject: str) -> int | None:
        """The sequence of the oldest message of a literal subject (from the index: no read)."""

    def delete(self, seq: int) -> bool:
        """Remove one message, durably; False when there is no such message."""

    def discard(self, seq: int) -> bool:
        """Remove a message as a stream limit requires; not durable on its own (it may come back after a
        crash, for the limits to remove again), so it costs no commit. False when no such message."""

    def purge(self, subject_filter: str | None = None, up_to_seq: int | None = None,
              keep: int | None = None) -> int:
        """nats-server's STREAM.PURGE: everything, or only subjects matching the filter; `up_to_seq`
        purges below that sequence, `keep` keeps the newest N. Durable on return; the count purged."""

    def state(self) -> StoreState: ...

    def count_usage(self, usages: tuple[Usage, ...]) -> None:
        """Count the bytes held, now and as they change, into `usages` (its account's and the server's
        usage of its storage type) instead of the previous ones; `()`: into none (the stream is gone)."""

    def subjects(self, subject_filter: str = ">") -> dict[str, int]:
        """Message counts of the subjects matching the filter."""

    def oldest(self) -> StoredMessage | None: ...

    def set_first_seq(self, seq: int) -> None:
        """Drop everything below `seq`; an empty stream's next append gets `seq` (nats-server's Compact)."""

    def skip_to(self, seq: int) -> None:
        """The next append gets `seq` when that is beyond the next sequence: the ones between hold
        nothing (nats-server's SkipMsgs, which keeps a mirror at its upstream's sequences)."""

    async def close(self) -> None: ...

    def destroy(self) -> None:
        """Remove all data: the stream was deleted."""
