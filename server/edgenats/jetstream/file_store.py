"""The file store: a stream's messages in one SQLite database (WAL mode) in the stream's own folder.

Appends are committed by one writer thread, in batches: every append made while the previous batch was
being written goes into the next one, and once the commit of a batch returned its sequences are
reported (one call per batch, in order) on the event loop. A batch's rows go in as a few many-row
INSERTs, so the writer takes the GIL back a few times per batch rather than after every row (the event
loop's thread keeps it). What "committed" guarantees depends on the stream's SyncPolicy:

- `always`: synchronous=FULL, so the WAL is fsynced at every commit. An acknowledged message survives a
  process crash, an OS crash and a power failure.
- interval (nats-server's default `sync_interval`, 120 s): synchronous=NORMAL, so a commit is written to
  the WAL file (the OS page cache) but not fsynced; the WAL is fsynced `interval_s` after the first
  commit that follows a sync, by every checkpoint, and at close. An acknowledged message survives
  a process crash (kill -9) always; an OS crash or power failure can lose what was committed in the last
  `interval_s`, as with nats-server. The database itself stays consistent (WAL).

Checkpoints (copying the WAL into the database, with an fsync of each) are the store's own: once the
batches committed since the last one hold about CHECKPOINT_BYTES, the writer thread runs one while the
batch that crossed it is reported on the loop, before it writes the next. So no PubAck waits for a
checkpoint's fsyncs (SQLite's would run inside that batch's commit); the publishes that arrive meanwhile
go into the next batch. SQLite's automatic checkpoint stays as a bound (SAFETY_CHECKPOINT_PAGES) for
whatever else grows the WAL (removals).

Deletes, purges and `set_first_seq` run on the caller's thread: they first commit every append already
accepted (so they apply in call order), then commit with synchronous=FULL, durable when they return.
Discards (removals a stream limit makes) leave the index at once and reach the database with the next
batch, with no commit of their own: after a crash such a message can be back, for the limits to remove.
Readers use their own connection on the event loop's thread and see committed messages only. A walk
through the stream (`next_for_subject` with one filter: a consumer) whose step follows its previous one
closely fetches the walk's next rows too, up to READ_AHEAD_ROWS and READ_AHEAD_BYTES, one query for
many messages (the latest WALKS_KEPT walks keep theirs); any other read fetches its one row, and
deletes and purges drop what was fetched ahead. The index
(message_index.MessageIndex: subject, size and time of every message in compact arrays, about 24 bytes
a message) learns of an append when its batch has committed. On open the index is rebuilt from the
database; the `bounds` row keeps the last sequence (and its time) when the newest messages were removed,
so sequences continue and first_seq after a purge is kept.

The subject, headers and data of a row pass through the store's RecordCodec (cipher.py) on their way to
and from the database: sealed on the writer thread, opened on reads; sizes are always the plain ones.
A failed commit (disk full, I/O error) is reported with a StoreWriteError; the store stays open.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from edgenats.durable_files import fsync_path

from .cipher import PLAIN, RecordCodec
from .message_index import MessageIndex
from .store import StoreClosedError, StoredMessage, StoreState, StoreWriteError, SyncPolicy, file_message_size

if TYPE_CHECKING:
    from .limits import Usage
    from .store import StoredReport

log = logging.getLogger("edgenats")

DATABASE_NAME = "messages.db"
PAGE_SIZE = 16384
READ_AHEAD_ROWS = 64
READ_AHEAD_BYTES = 256 * 1024
WALKS_KEPT = 8
# A checkpoint after this much committed (SQLite's default is 1000 pages); each commit counts its messages'
# stored sizes and the two pages (the last leaf and its parent) that it writes again.
CHECKPOINT_BYTES = 1000 * PAGE_SIZE
COMMIT_OVERHEAD_BYTES = 2 * PAGE_SIZE
SAFETY_CHECKPOINT_PAGES = 4000
# How far past its previous step a walk's next one may be (a filter skips other subjects) to read ahead.
WALK_STEP_AHEAD = READ_AHEAD_ROWS * 4

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY, subject TEXT NOT NULL, headers BLOB, data BLOB NOT NULL, time_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS bounds (
    id INTEGER PRIMARY KEY CHECK (id = 1), last_seq INTEGER NOT NULL, last_time_ns INTEGER NOT NULL);
"""

Row = tuple[int, str, bytes | None, bytes, int]
_CHUNK = 512  # rows per INSERT at most (2560 parameters), fewer when this SQLite allows fewer


# Python 3.11's sqlite3 asks the adaptation protocol about every bytes and None parameter, raising and
# clearing an AttributeError for each (about a tenth of a 1 KiB row's insert); an adapter registered for
# the type is found first. These hand the values on as they are, so they change nothing for any user of
# sqlite3 in the process.
sqlite3.register_adapter(bytes, bytes)
sqlite3.register_adapter(type(None), lambda value: value)


@functools.cache
def _insert_statement(count: int) -> str:
    return "INSERT INTO messages VALUES " + ",".join(["(?, ?, ?, ?, ?)"] * count)


@functools.cache
def _select_statement(count: int) -> str:
    return ("SELECT seq, subject, headers, data, time_ns FROM messages WHERE seq IN ("
            + ",".join(["?"] * count) + ")")


def open_file_store(directory: Path, sync: SyncPolicy, codec: RecordCodec = PLAIN) -> FileStore:
    """Open (or create) the store kept in `directory`, the stream's own folder."""
    return FileStore(directory, sync, codec)


@dataclass(eq=False)
class _Batch:
    rows: list[Row]
    discards: list[int]
    bounds: tuple[int, int]  # (last_seq, last_time_ns) to keep when discards took the newest messages
    written: bool = False  # the writer took it (whatever the outcome)
    committed: bool = False
    error: BaseException | None = None
    settled: bool = False  # its appends reported
    stored_bytes: int = 0  # its messages' stored sizes, once committed


@dataclass(slots=True)
class _Walk:
    last_seq: int = 0
    rows: dict[int, tuple] = field(default_factory=dict)  # seq -> subject, headers, data, time_ns


class FileStore:
    def __init__(self, directory: Path, sync: SyncPolicy, codec: RecordCodec) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._codec = codec
        self._directory = directory
        self.path = directory / DATABASE_NAME
        self._sync = sync
        self._writer = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        # A new database's page size (an existing one keeps its own): a 16 KiB page holds fifteen 1 KiB
        # messages where a 4 KiB page holds three and leaves a quarter unused, so commits and checkpoints
        # write a fifth fewer bytes in a fifth as many pages (about a quarter less writer CPU at 1 KiB).
        self._writer.execute(f"PRAGMA page_size={PAGE_SIZE}")
        self._writer.execute("PRAGMA journal_mode=WAL")
        self._writer.execute(f"PRAGMA synchronous={self._normal_sync}")
        self._writer.executescript(_SCHEMA)
        self._writer.execute(f"PRAGMA wal_autocheckpoint={SAFETY_CHECKPOINT_PAGES}")
        # A power of two: SQLite before 3.32 allows 999 parameters per statement, 32766 since.
        most = min(_CHUNK, self._writer.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // 5)  # 5 per row
        self._chunk = 1 << (most.bit_length() - 1)
        fsync_path(self._directory)
        self._reader = sqlite3.connect(self.path, isolation_level=None)
        # Walks through the stream by filter (consumers), with the rows each fetched ahead; the latest few.
        self._walks: OrderedDict[str, _Walk] = OrderedDict()
        self._index = self._load_index()
        self._next_seq = self._index.last_seq + 1
        self._lock = threading.Lock()  # the writer connection
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jsstore-writer")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._report: StoredReport | None = None
        self._pending_rows: list[Row] = []
        self._pending_discards: list[int] = []
        self._submit_scheduled = False
        self._inflight: _Batch | None = None
        self._uncheckpointed_bytes = 0
        self._sync_timer: asyncio.TimerHandle | None = None
        self._closed = False

    @property
    def _normal_sync(self) -> str:
        return "FULL" if self._sync.always else "NORMAL"

    def _load_index(self) -> MessageIndex:
        index = MessageIndex()
        overhead = self._codec.overhead
        rows = self._reader.execute(
            "SELECT seq, subject, coalesce(length(headers) - ?, 0), length(data) - ?, time_ns FROM messages "
            "ORDER BY seq", (overhead, overhead))
        for seq, stored_subject, headers_len, data_len, time_ns in rows:
            subject = self._codec.open_subject(stored_subject, seq)
            index.add(seq, subject, file_message_size(subject, headers_len, data_len), time_ns)
        bounds = self._reader.execute("SELECT last_seq, last_time_ns FROM bounds WHERE id = 1").fetchone()
        if bounds is not None:
            index.restore_bounds(*bounds)
        return index

    # Appends: batched, committed on the writer thread, reported on the loop in order.

    def report_to(self, report: StoredReport) -> None:
        self._report = report

    def append(self, subject: str, headers: bytes | None, data: bytes, time_ns: int) -> None:
        if self._closed:
            raise StoreClosedError(f"file store {self.path} is closed")
        seq = self._next_seq
        self._next_seq = seq + 1
        self._pending_rows.append((seq, subject, headers, data, time_ns))
        if not self._submit_scheduled:
            self._schedule_submit()

    def discard(self, seq: int) -> bool:
        """Remove a message as a stream limit requires (discard old, max age, per-subject limit): gone
        from reads at once, written with the next batch and not made durable on its own, so it costs the
        loop no commit. After a crash it can be back; the stream's limits remove it again."""
        if seq not in self._index:
            return False
        self._index.remove([seq])
        self._pending_discards.append(seq)
        self._schedule_submit()
        return True

    def _schedule_submit(self) -> None:
        if not self._submit_scheduled:
            if self._loop is None:
                self._loop = asyncio.get_running_loop()
            self._submit_scheduled = True
            self._loop.call_soon(self._submit)

    def _take_pending(self) -> _Batch:
        batch = _Batch(self._pending_rows, self._pending_discards, (self._index.last_seq, self._index.last_time_ns))
        self._pending_rows, self._pending_discards = [], []
        return batch

    def _submit(self) -> None:
        self._submit_scheduled = False
        if self._inflight is not None or not (self._pending_rows or self._pending_discards):
            return  # the batch in flight submits the next when it is done
        batch = self._inflight = self._take_pending()
        done = self._loop.run_in_executor(self._executor, self._write, batch)
        done.add_done_callback(lambda _: self._batch_done(batch))

    def _batch_done(self, batch: _Batch) -> None:
        outcome = self._settle(batch)
        if self._inflight is batch:
            self._inflight = None
            if batch.committed:
                self._count_for_checkpoint(batch)
            self._submit()  # the next batch is written while this one is answered
        self._report_outcome(outcome)

    def _count_for_checkpoint(self, batch: _Batch) -> None:
        """Queue a checkpoint on the writer thread, ahead of the next batch, once enough is committed."""
        self._uncheckpointed_bytes += COMMIT_OVERHEAD_BYTES + batch.stored_bytes
        if self._uncheckpointed_bytes >= CHECKPOINT_BYTES and not self._closed:
            self._uncheckpointed_bytes = 0
            self._executor.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        with self._lock:
            try:
                self._writer.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error as error:
                # The WAL keeps the commits (a full disk, an I/O error); the next checkpoint tries again.
                log.warning("checkpoint of %s failed: %s", self.path, error)

    def _write(self, batch: _Batch) -> None:
        """Commit a batch (any thread; a batch is written once)."""
        with self._lock:
            if batch.written:
                return
            batch.written = True
            try:
                self._writer.execute("BEGIN IMMEDIATE")
                rows = batch.rows if self._codec is PLAIN else [self._sealed(row) for row in batch.rows]
                self._insert(rows)
                if batch.discards:
                    self._writer.executemany("DELETE FROM messages WHERE seq = ?",
                                             [(seq,) for seq in batch.discards])
                    self._writer.execute("INSERT OR REPLACE INTO bounds VALUES (1, ?, ?)", batch.bounds)
                self._writer.execute("COMMIT")
                batch.committed = True
            except sqlite3.Error as error:
                batch.error = error
                if self._writer.in_transaction:
                    self._writer.execute("ROLLBACK")

    def _insert(self, rows: list[Row]) -> None:
        """The rows in a few statements of many rows each (one per power of two in the count, at most
        `_chunk` rows): SQLite runs each without the GIL, where executemany takes it back after each row."""
        done = 0
        while done < len(rows):
            count = 1 << (min(len(rows) - done, self._chunk).bit_length() - 1)
            self._writer.execute(_insert_statement(count), list(chain.from_iterable(rows[done:done + count])))
            done += count

    def _sealed(self, row: Row) -> Row:
        seq, subject, headers, data, time_ns = row
        codec = self._codec
        return (seq, codec.seal_subject(subject, seq), None if headers is None else codec.seal(headers, seq, b"h"),
                codec.seal(data, seq, b"d"), time_ns)

    def _settle(self, batch: _Batch) -> tuple[list[int], StoreWriteError | None] | None:
        """On the loop: make a written batch's messages visible; what to report of its appends (None:
        nothing, or settled before)."""
        if batch.settled:
            return None
        batch.settled = True
        seqs = [row[0] for row in batch.rows]
        if not batch.committed:
            # The sequences it held are given to the appends made since, so none is skipped.
            next_seq = self._index.last_seq + 1
            self._pending_rows = [(next_seq + index, *row[1:]) for index, row in enumerate(self._pending_rows)]
            self._next_seq = next_seq + len(self._pending_rows)
            return (seqs, StoreWriteError(f"append not stored: {batch.error}")) if seqs else None
        rows = batch.rows
        if rows:  # (consecutive sequences: appends take them in turn, a failed batch's are given on)
            sizes = [file_message_size(subject, len(headers or b""), len(data))
                     for _, subject, headers, data, _ in rows]
            batch.stored_bytes = sum(sizes)
            self._index.add_run(seqs[0], [row[1] for row in rows], sizes, [row[4] for row in rows])
        if not self._sync.always and self._sync_timer is None and not self._closed:
            self._sync_timer = self._loop.call_later(self._sync.interval_s, self._sync_due)
        return (seqs, None) if seqs else None

    def _report_outcome(self, outcome: tuple[list[int], StoreWriteError | None] | None) -> None:
        if outcome is not None:
            self._report(*outcome)

    def _outstanding(self) -> list[_Batch]:
        batches = [self._inflight] if self._inflight is not None else []
        if self._pending_rows or self._pending_discards:
            batches.append(self._take_pending())
        return batches

    def _drain(self) -> None:
        """Commit and report every accepted append now, on this thread."""
        batches = self._outstanding()
        for batch in batches:
            self._write(batch)
        self._settle_and_report(batches)

    def _settle_and_report(self, batches: list[_Batch]) -> None:
        for outcome in [self._settle(batch) for batch in batches]:
            self._report_outcome(outcome)

    # Interval sync.

    def _sync_due(self) -> None:
        self._sync_timer = None
        self._executor.submit(self._fsync_wal)

    def _fsync_wal(self) -> None:
        """fsync the WAL and the folder (a new WAL's directory entry), where commits live until a checkpoint."""
        with self._lock:
            try:
                fsync_path(f"{self.path}-wal")
            except FileNotFoundError:
                return
            fsync_path(self._directory)

    # Reads.

    def _walk_row(self, subject_filter: str, seq: int) -> tuple | None:
        """The row at `seq` as the next step of the walk with this filter: from the rows it fetched ahead,
        or fetched now with the walk's next ones when the step follows its previous one closely; None
        when it does not."""
        walk = self._walks.get(subject_filter)
        if walk is None:
            walk = self._walks[subject_filter] = _Walk()
            if len(self._walks) > WALKS_KEPT:
                self._walks.popitem(last=False)
        else:
            self._walks.move_to_end(subject_filter)
        row = walk.rows.get(seq)
        if row is None and 0 < seq - walk.last_seq <= WALK_STEP_AHEAD:
            seqs = self._index.walk_ahead(subject_filter, seq, READ_AHEAD_BYTES, READ_AHEAD_ROWS)
            walk.rows = {found[0]: found[1:] for found in self._reader.execute(_select_statement(len(seqs)), seqs)}
            row = walk.rows[seq]
        walk.last_seq = seq
        return row

    def _load(self, seq: int | None, walk: str | None = None) -> StoredMessage | None:
        """The message at `seq` (present); `walk`: the filter of the walk through the stream this is the
        next step of."""
        if seq is None:
            return None
        row = self._walk_row(walk, seq) if walk is not None else None
        if row is None:
            row = self._reader.execute("SELECT subject, headers, data, time_ns FROM messages WHERE seq = ?",
                                       (seq,)).fetchone()
        subject, headers, data, time_ns = row
        codec = self._codec
        if codec is PLAIN:
            return StoredMessage(seq, subject, headers, data, time_ns)
        return StoredMessage(seq, codec.open_subject(subject, seq),
                             None if headers is None else codec.open(headers, seq, b"h"),
                             codec.open(data, seq, b"d"), time_ns)

    def get(self, seq: int) -> StoredMessage | None:
        return self._load(seq) if seq in self._index else None

    def last_for_subject(self, subject_filter: str) -> StoredMessage | None:
        return self._load(self._index.last_for(subject_filter))

    def next_for_subject(self, subject_filter: str, start_seq: int) -> StoredMessage | None:
        return self._load(self._index.next_for(subject_filter, start_seq), walk=subject_filter)

    def count_after(self, subject_filter: str, seq: int) -> int:
        return self._index.count_after(subject_filter, seq)

    def count_for_subject(self, subject: str) -> int:
        return self._index.count_for(subject)

    def first_seq_for_subject(self, subject: str) -> int | None:
        return self._index.first_for(subject)

    def state(self) -> StoreState:
        return self._index.state()

    def count_usage(self, usages: tuple[Usage, ...]) -> None:
        self._index.count_into(usages)

    def subjects(self, subject_filter: str = ">") -> dict[str, int]:
        return self._index.subjects(subject_filter)

    def oldest(self) -> StoredMessage | None:
        return self.get(self._index.first_seq)

    # Removals: synchronous and durable.

    def _remove(self, seqs: list[int], compact_to: int | None) -> None:
        last_seq = self._index.compacted_last_seq(compact_to)
        with self._lock:
            self._writer.execute("PRAGMA synchronous=FULL")
            try:
                self._writer.execute("BEGIN IMMEDIATE")
                if compact_to:
                    self._writer.execute("DELETE FROM messages WHERE seq < ?", (compact_to,))
                else:
                    self._writer.executemany("DELETE FROM messages WHERE seq = ?", [(seq,) for seq in seqs])
                self._writer.execute("INSERT OR REPLACE INTO bounds VALUES (1, ?, ?)",
                                     (last_seq, self._index.last_time_ns))
                self._writer.execute("COMMIT")
            except sqlite3.Error:
                if self._writer.in_transaction:
                    self._writer.execute("ROLLBACK")
                raise
            finally:
                self._writer.execute(f"PRAGMA synchronous={self._normal_sync}")
        self._index.remove(seqs, compact_to)
        self._walks.clear()
        self._next_seq = self._index.last_seq + 1

    def delete(self, seq: int) -> bool:
        self._drain()
        if seq not in self._index:
            return False
        self._remove([seq], None)
        return True

    def purge(self, subject_filter: str | None = None, up_to_seq: int | None = None,
              keep: int | None = None) -> int:
        self._drain()
        seqs, compact_to = self._index.plan_purge(subject_filter, up_to_seq, keep)
        if seqs or compact_to:
            self._remove(seqs, compact_to)
        return len(seqs)

    def set_first_seq(self, seq: int) -> None:
        self.purge(up_to_seq=seq)

    def skip_to(self, seq: int) -> None:
        self._next_seq = max(self._next_seq, seq)

    # Lifetime.

    def _write_and_sync(self, batches: list[_Batch]) -> None:
        for batch in batches:
            self._write(batch)
        self._fsync_wal()

    async def close(self) -> None:
        """Commit and report every accepted append, make it durable, and close the database."""
        if self._closed:
            return
        self._closed = True
        batches = self._outstanding()
        await asyncio.get_running_loop().run_in_executor(self._executor, self._write_and_sync, batches)
        self._settle_and_report(batches)
        self._shut_down()

    def _shut_down(self) -> None:
        self._closed = True
        if self._sync_timer is not None:
            self._sync_timer.cancel()
            self._sync_timer = None
        self._executor.shutdown(wait=True)
        self._reader.close()
        self._writer.close()

    def destroy(self) -> None:
        """Commit and report accepted appends, then delete the database: the stream is gone."""
        if not self._closed:
            self._drain()
            self._shut_down()
        self._index = MessageIndex()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        if not any(self._directory.iterdir()):
            self._directory.rmdir()
