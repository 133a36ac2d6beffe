"""The SQLite file store beyond the shared contract: what a reopened store holds, that an append completes
only once its message is committed (seen by another SQLite connection), that removals are on disk when
they return and discards with the next batch, that close completes every accepted append, and that
destroy leaves nothing behind."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from edgenats.jetstream.file_store import CHECKPOINT_BYTES, open_file_store
from edgenats.jetstream.store import StoredMessage, SyncPolicy
from store_appends import append

HDR = b"NATS/1.0\r\nNats-Msg-Id: 7\r\n\r\n"
SYNCS = {"always": SyncPolicy(always=True), "interval": SyncPolicy()}


@pytest.fixture(params=list(SYNCS))
def sync(request) -> SyncPolicy:
    return SYNCS[request.param]


def read_row(path, seq):
    """The message as a separate SQLite connection sees it on disk."""
    with sqlite3.connect(path) as other:
        return other.execute("SELECT subject, headers, data FROM messages WHERE seq = ?", (seq,)).fetchone()


async def test_an_acknowledged_append_is_committed(tmp_path, sync):
    store = open_file_store(tmp_path / "s", sync)
    seen = {}

    async def append_and_look(index):
        seq = await append(store, f"orders.{index}", HDR, b"x%d" % index, index)
        seen[seq] = read_row(store.path, seq)

    await asyncio.gather(*(append_and_look(index) for index in range(60)))
    assert seen == {index + 1: (f"orders.{index}", HDR, b"x%d" % index) for index in range(60)}
    await store.close()


async def test_reopen_keeps_messages_gaps_and_sequences(tmp_path, sync):
    store = open_file_store(tmp_path / "s", sync)
    for index in range(1, 7):
        await append(store, f"kv.{index % 2}", HDR if index == 3 else None, b"v%d" % index, 1000 + index)
    store.delete(2)
    store.delete(6)
    before = store.state()
    await store.close()

    reopened = open_file_store(tmp_path / "s", sync)
    assert reopened.state() == before
    assert (before.messages, before.first_seq, before.last_seq, before.num_deleted) == (4, 1, 6, 2)
    assert reopened.get(3) == StoredMessage(3, "kv.1", HDR, b"v3", 1003)
    assert reopened.get(2) is None
    assert reopened.subjects() == {"kv.0": 1, "kv.1": 3}
    assert await append(reopened, "kv.0", None, b"v7", 1007) == 7
    await reopened.close()


async def test_reopen_after_purge_keeps_first_seq(tmp_path):
    store = open_file_store(tmp_path / "s", SyncPolicy())
    for index in range(5):
        await append(store, "a", None, b"", index)
    store.purge()
    await store.close()

    reopened = open_file_store(tmp_path / "s", SyncPolicy())
    state = reopened.state()
    assert (state.messages, state.first_seq, state.last_seq, state.last_time_ns) == (0, 6, 5, 4)
    assert await append(reopened, "a", None, b"", 9) == 6
    await reopened.close()


async def test_reopen_after_set_first_seq_continues_there(tmp_path):
    store = open_file_store(tmp_path / "s", SyncPolicy())
    store.set_first_seq(42)
    await store.close()

    reopened = open_file_store(tmp_path / "s", SyncPolicy())
    assert (reopened.state().first_seq, reopened.state().last_seq) == (42, 41)
    assert await append(reopened, "a", None, b"", 1) == 42
    await reopened.close()


async def test_delete_and_purge_are_on_disk_when_they_return(tmp_path):
    store = open_file_store(tmp_path / "s", SyncPolicy())
    for index in range(4):
        await append(store, f"p.{index}", None, b"", index)
    assert store.delete(1)
    assert read_row(store.path, 1) is None
    assert store.purge("p.2") == 1
    assert read_row(store.path, 3) is None
    assert read_row(store.path, 4) == ("p.3", None, b"")
    await store.close()


async def test_a_discard_is_written_with_the_next_batch(tmp_path):
    store = open_file_store(tmp_path / "s", SyncPolicy())
    for index in range(3):
        await append(store, "lim", None, b"%d" % index, index)
    assert store.discard(1)
    assert store.get(1) is None
    assert read_row(store.path, 1) == ("lim", None, b"0")  # no commit of its own
    await append(store, "lim", None, b"3", 3)
    assert read_row(store.path, 1) is None


async def test_reopen_after_discarding_everything_keeps_the_last_seq(tmp_path):
    store = open_file_store(tmp_path / "s", SyncPolicy())
    for index in range(3):
        await append(store, "age", None, b"", 10 + index)
    for seq in (1, 2, 3):
        store.discard(seq)
    await store.close()

    reopened = open_file_store(tmp_path / "s", SyncPolicy())
    state = reopened.state()
    assert (state.messages, state.first_seq, state.last_seq, state.last_time_ns) == (0, 4, 3, 12)
    assert await append(reopened, "age", None, b"", 13) == 4
    await reopened.close()


async def test_a_purge_applies_to_appends_accepted_before_it(tmp_path):
    store = open_file_store(tmp_path / "s", SyncPolicy())
    appends = [asyncio.ensure_future(append(store, "q", None, b"%d" % index, index)) for index in range(5)]
    await asyncio.sleep(0)  # the appends are accepted, none is committed yet
    assert store.purge() == 5
    assert [await append for append in appends] == [1, 2, 3, 4, 5]
    assert store.state().messages == 0
    await store.close()


async def test_close_completes_every_accepted_append(tmp_path):
    store = open_file_store(tmp_path / "s", SyncPolicy())
    appends = [asyncio.ensure_future(append(store, "c", None, b"%d" % index, index)) for index in range(20)]
    await asyncio.sleep(0)
    await store.close()
    assert [await append for append in appends] == list(range(1, 21))

    reopened = open_file_store(tmp_path / "s", SyncPolicy())
    assert reopened.state().messages == 20
    await reopened.close()


async def test_destroy_removes_the_stream_folder(tmp_path):
    store = open_file_store(tmp_path / "s", SyncPolicy())
    await append(store, "d", None, b"", 1)
    store.destroy()
    assert not (tmp_path / "s").exists()


async def test_a_batch_of_any_size_is_committed_whole_and_in_order(tmp_path):
    # 1,111 appends made before any commit: the first batch takes the first, the next all the others
    # (more than one many-row INSERT holds, and a count that is no power of two).
    store = open_file_store(tmp_path / "s", SyncPolicy())
    seqs = await asyncio.gather(*(append(store, f"b.{index % 7}", HDR if index % 3 else None, b"%d" % index, index)
                                  for index in range(1111)))
    assert seqs == list(range(1, 1112))
    await store.close()

    reopened = open_file_store(tmp_path / "s", SyncPolicy())
    assert [reopened.get(seq) for seq in (1, 2, 600, 1111)] == [
        StoredMessage(seq, f"b.{(seq - 1) % 7}", HDR if (seq - 1) % 3 else None, b"%d" % (seq - 1), seq - 1)
        for seq in (1, 2, 600, 1111)]
    assert reopened.state().messages == 1111
    await reopened.close()


async def test_a_database_made_with_4k_pages_keeps_them_and_its_messages(tmp_path):
    # Stores made before new databases got 16 KiB pages open as they are: the page size of a WAL
    # database cannot change, and their messages read back and continue.
    (tmp_path / "s").mkdir()
    with sqlite3.connect(tmp_path / "s" / "messages.db") as old:
        old.execute("PRAGMA page_size=4096")
        old.execute("PRAGMA journal_mode=WAL")
        old.execute("CREATE TABLE messages (seq INTEGER PRIMARY KEY, subject TEXT NOT NULL, headers BLOB, "
                    "data BLOB NOT NULL, time_ns INTEGER NOT NULL)")
        old.execute("INSERT INTO messages VALUES (1, 'old', NULL, x'6f6c64', 5)")
    store = open_file_store(tmp_path / "s", SyncPolicy())
    assert await append(store, "new", None, b"new", 6) == 2
    await store.close()

    reopened = open_file_store(tmp_path / "s", SyncPolicy())
    assert [reopened.get(1), reopened.get(2)] == [StoredMessage(1, "old", None, b"old", 5),
                                                  StoredMessage(2, "new", None, b"new", 6)]
    await reopened.close()
    with sqlite3.connect(tmp_path / "s" / "messages.db") as database:
        assert database.execute("PRAGMA page_size").fetchone() == (4096,)


async def test_a_new_database_has_16k_pages(tmp_path):
    store = open_file_store(tmp_path / "s", SyncPolicy())
    await append(store, "a", None, b"", 1)
    await store.close()
    with sqlite3.connect(tmp_path / "s" / "messages.db") as database:
        assert database.execute("PRAGMA page_size").fetchone() == (16384,)


async def test_the_store_checkpoints_so_the_wal_stays_bounded(tmp_path, sync):
    """Three times what a checkpoint waits for, in 1 KiB appends: the WAL stops growing at about one
    checkpoint's worth (it would hold them all without checkpoints), and every message is stored."""
    store = open_file_store(tmp_path / "s", sync)
    wal = tmp_path / "s" / "messages.db-wal"
    body = bytes(1024)
    count = 3 * CHECKPOINT_BYTES // len(body)
    largest = 0
    for start in range(0, count, 500):
        await asyncio.gather(*(append(store, "telemetry", None, body, index)
                               for index in range(start, min(count, start + 500))))
        largest = max(largest, wal.stat().st_size)
    with sqlite3.connect(f"file:{store.path}?mode=ro", uri=True) as other:
        assert other.execute("SELECT count(*) FROM messages").fetchone() == (count,)
    await store.close()

    assert largest < 1.5 * CHECKPOINT_BYTES
