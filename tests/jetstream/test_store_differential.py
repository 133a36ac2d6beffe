"""Random histories of appends, deletes, discards, purges and compactions applied to the memory store and to a file
store: the file store, reopened from disk afterwards, reports what the memory store reports (state,
messages, subject counts) and hands out the same next sequence."""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
from pathlib import Path

from edgenats.jetstream.file_store import open_file_store
from edgenats.jetstream.memory_store import MemoryStore
from edgenats.jetstream.store import SyncPolicy
from hypothesis import given, settings
from hypothesis import strategies as st
from store_appends import append

SUBJECTS = ["a", "b.x", "b.y", "c.x.z"]
FILTERS = [None, ">", "a", "b.*", "*.x", "c.>"]

appends = st.tuples(st.just("append"), st.sampled_from(SUBJECTS), st.booleans())
deletes = st.tuples(st.sampled_from(["delete", "discard"]), st.integers(0, 40))
purges = st.tuples(st.just("purge"), st.sampled_from(FILTERS),
                   st.one_of(st.tuples(st.integers(0, 40), st.just(None)),
                             st.tuples(st.just(None), st.integers(0, 12))))
compactions = st.tuples(st.just("first_seq"), st.integers(1, 45))
histories = st.lists(st.one_of(appends, appends, appends, deletes, purges, compactions), max_size=40)


async def apply(store, history) -> list:
    """Run the history; what each operation answered."""
    answers = []
    for step, operation in enumerate(history):
        if operation[0] == "append":
            _, subject, with_headers = operation
            headers = b"NATS/1.0\r\nStep: %d\r\n\r\n" % step if with_headers else None
            answers.append(await append(store, subject, headers, b"data-%d" % step, step))
        elif operation[0] == "delete":
            answers.append(store.delete(operation[1]))
        elif operation[0] == "discard":
            answers.append(store.discard(operation[1]))
        elif operation[0] == "purge":
            _, subject_filter, (up_to_seq, keep) = operation
            answers.append(store.purge(subject_filter, up_to_seq=up_to_seq, keep=keep))
        else:
            answers.append(store.set_first_seq(operation[1]))
    return answers


def contents(store):
    state = store.state()
    return ([store.get(seq) for seq in range(max(state.first_seq, 1), state.last_seq + 1)],
            store.subjects(), {subject: store.last_for_subject(subject) for subject in FILTERS[1:]})


@settings(max_examples=60, deadline=None)
@given(histories)
def test_reopened_file_store_matches_memory_store(history):
    async def run():
        with tempfile.TemporaryDirectory() as folder:
            memory = MemoryStore()
            file = open_file_store(Path(folder) / "s", SyncPolicy())
            assert await apply(file, history) == await apply(memory, history)
            before = file.state()
            await file.close()
            reopened = open_file_store(Path(folder) / "s", SyncPolicy())
            assert reopened.state() == before
            assert dataclasses.replace(before, bytes=0) == dataclasses.replace(memory.state(), bytes=0)
            assert contents(reopened) == contents(memory)
            assert await append(reopened, "a", None, b"", 0) == await append(memory, "a", None, b"", 0)
            await reopened.close()

    asyncio.run(run())
