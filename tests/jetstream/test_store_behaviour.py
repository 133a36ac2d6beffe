"""The message store contract, one suite run against the memory store and the SQLite file store: appends
and reads, deletes and their gaps, every STREAM.PURGE variant, subject lookups with wildcards, and the
state a STREAM.INFO would report (nats-server's sequence conventions and byte accounting)."""

from __future__ import annotations

import asyncio

import pytest
from edgenats.jetstream.file_store import open_file_store
from edgenats.jetstream.memory_store import MemoryStore
from edgenats.jetstream.store import StoreClosedError, StoredMessage, SyncPolicy, file_message_size, memory_message_size
from store_appends import append

HDR = b"NATS/1.0\r\nX-Kind: test\r\n\r\n"


@pytest.fixture(params=["memory", "file"])
async def store(request, tmp_path):
    opened = MemoryStore() if request.param == "memory" else open_file_store(tmp_path / "stream", SyncPolicy())
    opened.kind = request.param
    yield opened
    await opened.close()


def size_of(store, subject, headers, data):
    size = memory_message_size if store.kind == "memory" else file_message_size
    return size(subject, len(headers or b""), len(data))


async def fill(store, subjects):
    """Append one message per subject, payload `m<seq>`, time = seq; returns the sequences."""
    return [await append(store, subject, None, f"m{index + 1}".encode(), index + 1)
            for index, subject in enumerate(subjects)]


def seqs_left(store):
    state = store.state()
    return [seq for seq in range(state.first_seq, state.last_seq + 1) if store.get(seq) is not None]


async def test_empty_store_reports_nothing(store):
    state = store.state()
    assert (state.messages, state.bytes, state.first_seq, state.last_seq, state.num_deleted) == (0, 0, 0, 0, 0)
    assert store.get(1) is None
    assert store.oldest() is None
    assert store.last_for_subject(">") is None
    assert store.next_for_subject(">", 1) is None
    assert store.subjects() == {}


async def test_appends_get_consecutive_sequences_and_read_back(store):
    assert await append(store, "a.b", HDR, b"one", 111) == 1
    assert await append(store, "a.c", None, b"", 222) == 2
    assert store.get(1) == StoredMessage(1, "a.b", HDR, b"one", 111)
    assert store.get(2) == StoredMessage(2, "a.c", None, b"", 222)
    assert store.get(3) is None
    state = store.state()
    assert (state.messages, state.first_seq, state.last_seq) == (2, 1, 2)
    assert (state.first_time_ns, state.last_time_ns, state.num_subjects) == (111, 222, 2)
    assert state.bytes == size_of(store, "a.b", HDR, b"one") + size_of(store, "a.c", None, b"")


async def test_byte_accounting_matches_nats_server(store):
    await append(store, "orders", None, b"hello", 1)
    await append(store, "orders", HDR, b"hello", 2)
    plain, with_headers = (27, 27 + len(HDR)) if store.kind == "memory" else (41, 45 + len(HDR))
    assert store.state().bytes == plain + with_headers


async def test_many_appends_in_one_loop_turn_complete_in_order(store):
    import asyncio
    seqs = await asyncio.gather(*(append(store, f"s.{i % 3}", None, b"%d" % i, i) for i in range(50)))
    assert seqs == list(range(1, 51))
    assert [store.get(seq).data for seq in seqs] == [b"%d" % i for i in range(50)]


async def test_interior_delete_leaves_a_gap(store):
    await fill(store, ["a", "b", "c", "d"])
    assert store.delete(2) is True
    assert store.delete(2) is False
    assert store.delete(99) is False
    assert store.get(2) is None
    state = store.state()
    assert (state.messages, state.first_seq, state.last_seq, state.num_deleted) == (3, 1, 4, 1)
    assert state.num_subjects == 3
    assert store.next_for_subject(">", 2).seq == 3


async def test_discard_removes_like_delete(store):
    await fill(store, ["a", "b", "a"])
    assert store.discard(1) is True
    assert store.discard(1) is False
    assert store.get(1) is None
    assert store.first_seq_for_subject("a") == 3
    state = store.state()
    assert (state.messages, state.first_seq, state.last_seq) == (2, 2, 3)
    assert state.bytes == size_of(store, "b", None, b"m2") + size_of(store, "a", None, b"m3")


async def test_deleting_first_and_last_moves_first_but_not_last(store):
    await fill(store, ["a", "b", "c"])
    store.delete(1)
    store.delete(3)
    state = store.state()
    # nats-server keeps last_seq and counts the removed newest message as a deleted sequence
    assert (state.messages, state.first_seq, state.last_seq, state.num_deleted) == (1, 2, 3, 1)
    assert state.first_time_ns == 2 and state.last_time_ns == 3
    assert store.oldest().seq == 2
    assert await append(store, "d", None, b"", 4) == 4


async def test_deleting_everything_leaves_first_past_last(store):
    await fill(store, ["a", "b"])
    store.delete(1)
    store.delete(2)
    state = store.state()
    assert (state.messages, state.bytes, state.first_seq, state.last_seq, state.first_time_ns) == (0, 0, 3, 2, 0)
    assert await append(store, "a", None, b"", 5) == 3
    assert store.state().first_seq == 3


async def test_purge_all(store):
    await fill(store, ["a", "b", "c"])
    assert store.purge() == 3
    state = store.state()
    assert (state.messages, state.bytes, state.first_seq, state.last_seq, state.num_subjects) == (0, 0, 4, 3, 0)
    assert state.last_time_ns == 3
    assert await append(store, "a", None, b"", 9) == 4
    assert store.oldest().seq == 4


async def test_purge_of_a_fresh_store_sets_first_seq_one(store):
    assert store.purge() == 0
    state = store.state()
    assert (state.first_seq, state.last_seq) == (1, 0)


async def test_purge_up_to_seq_removes_everything_below(store):
    await fill(store, ["a", "b", "a", "b", "a"])
    assert store.purge(up_to_seq=3) == 2
    assert seqs_left(store) == [3, 4, 5]
    assert store.state().first_seq == 3


async def test_purge_up_to_seq_beyond_the_end_sets_the_next_sequence(store):
    await fill(store, ["a", "b"])
    assert store.purge(up_to_seq=10) == 2
    state = store.state()
    assert (state.messages, state.first_seq, state.last_seq) == (0, 10, 9)
    assert await append(store, "a", None, b"", 1) == 10


async def test_purge_up_to_seq_one_purges_nothing(store):
    await fill(store, ["a", "b"])
    assert store.purge(up_to_seq=1) == 0
    assert store.state().messages == 2


async def test_purge_keep_newest(store):
    await fill(store, ["a", "b", "c", "d", "e"])
    assert store.purge(keep=2) == 3
    assert seqs_left(store) == [4, 5]
    assert store.purge(keep=5) == 0


async def test_purge_keep_counts_from_last_seq_like_nats_server(store):
    # nats-server compacts to last_seq - keep + 1, so a gap in that range leaves fewer than `keep`.
    await fill(store, ["a", "b", "c", "d", "e"])
    store.delete(4)
    assert store.purge(keep=2) == 3
    assert seqs_left(store) == [5]


async def test_purge_filtered(store):
    await fill(store, ["orders.1", "audit", "orders.2", "orders.1", "audit"])
    assert store.purge("orders.*") == 3
    assert seqs_left(store) == [2, 5]
    state = store.state()
    assert (state.first_seq, state.last_seq, state.num_deleted, state.num_subjects) == (2, 5, 2, 1)


async def test_purge_filtered_up_to_seq(store):
    await fill(store, ["k", "x", "k", "k", "x"])
    assert store.purge("k", up_to_seq=4) == 2
    assert seqs_left(store) == [2, 4, 5]


async def test_purge_filtered_keep(store):
    await fill(store, ["k.1", "x", "k.2", "k.1", "x", "k.2"])
    assert store.purge("k.>", keep=2) == 2
    assert seqs_left(store) == [2, 4, 5, 6]


async def test_purge_filtered_that_empties_the_stream(store):
    await fill(store, ["k", "k"])
    assert store.purge("k") == 2
    state = store.state()
    assert (state.messages, state.first_seq, state.last_seq) == (0, 3, 2)


async def test_purge_rejects_seq_and_keep_together(store):
    with pytest.raises(ValueError):
        store.purge(up_to_seq=2, keep=1)


async def test_batches_on_one_subject_and_on_several_are_indexed_alike(store, tmp_path):
    one = [append(store, "one", None, b"%d" % i, i) for i in range(1, 21)]
    assert await asyncio.gather(*one) == list(range(1, 21))
    mixed = [append(store, f"s.{i % 3}", HDR if i % 2 else None, b"%d" % i, i) for i in range(21, 51)]
    assert await asyncio.gather(*mixed) == list(range(21, 51))
    counts = {"one": 20, "s.0": 10, "s.1": 10, "s.2": 10}
    assert store.subjects() == counts
    assert [store.last_for_subject(subject).seq for subject in counts] == [20, 48, 49, 50]
    assert store.next_for_subject("s.*", 20).seq == 21
    state = store.state()
    assert (state.messages, state.first_seq, state.last_seq, state.last_time_ns) == (50, 1, 50, 50)
    assert state.bytes == (sum(size_of(store, "one", None, b"%d" % i) for i in range(1, 21))
                           + sum(size_of(store, f"s.{i % 3}", HDR if i % 2 else None, b"%d" % i)
                                 for i in range(21, 51)))
    if store.kind == "file":  # the index a restart rebuilds from the database is the same
        await store.close()
        reopened = open_file_store(tmp_path / "stream", SyncPolicy())
        try:
            assert reopened.subjects() == counts
            assert reopened.state() == state
        finally:
            await reopened.close()


async def test_set_first_seq_on_an_empty_store(store):
    store.set_first_seq(100)
    assert await append(store, "a", None, b"", 1) == 100
    assert store.state().first_seq == 100


async def test_last_and_next_for_subject_with_wildcards(store):
    await fill(store, ["kv.a", "kv.b", "other", "kv.a", "kv.b.c", "other"])
    assert store.last_for_subject("kv.a").data == b"m4"
    assert store.last_for_subject("kv.*").seq == 4
    assert store.last_for_subject("kv.>").seq == 5
    assert store.last_for_subject(">").seq == 6
    assert store.last_for_subject("nope") is None
    assert store.next_for_subject("kv.*", 1).seq == 1
    assert store.next_for_subject("kv.*", 3).seq == 4
    assert store.next_for_subject("kv.*", 5) is None
    assert store.next_for_subject("*.b.*", 1).seq == 5
    assert store.next_for_subject(">", 3).seq == 3
    assert store.next_for_subject("other", 7) is None


async def test_literal_subject_counts_and_first(store):
    await fill(store, ["k", "j", "k", "k"])
    assert store.count_for_subject("k") == 3
    assert store.count_for_subject("none") == 0
    assert store.first_seq_for_subject("k") == 1
    store.delete(1)
    assert store.get(store.first_seq_for_subject("k")).data == b"m3"
    assert store.first_seq_for_subject("none") is None


async def test_count_after_a_sequence_with_wildcards_and_gaps(store):
    await fill(store, ["kv.a", "kv.b", "other", "kv.a", "kv.b.c", "other"])
    assert store.count_after(">", 0) == 6
    assert store.count_after(">", 4) == 2
    assert store.count_after("kv.*", 1) == 2
    assert store.count_after("kv.>", 0) == 4
    assert store.count_after("nope", 0) == 0
    store.delete(4)
    assert (store.count_after("kv.*", 1), store.count_after(">", 2)) == (1, 3)
    store.purge(up_to_seq=3)
    assert store.count_after(">", 0) == 3


async def test_subjects_counts(store):
    await fill(store, ["a.1", "a.2", "a.1", "b"])
    assert store.subjects() == {"a.1": 2, "a.2": 1, "b": 1}
    assert store.subjects("a.*") == {"a.1": 2, "a.2": 1}
    store.delete(2)
    assert store.subjects("a.*") == {"a.1": 2}


async def test_destroy_removes_everything(store):
    await fill(store, ["a", "b"])
    store.destroy()
    assert store.state().messages == 0
    assert store.get(1) is None


async def test_a_closed_store_refuses_appends(store):
    await append(store, "a", None, b"", 1)
    await store.close()
    with pytest.raises(StoreClosedError):
        await append(store, "a", None, b"", 2)
