"""Nothing acknowledged is lost: a real process appends to a real file store, printing each sequence once
the store reported it stored, and is killed with SIGKILL mid-stream; the reopened store holds every printed
sequence with its content, and nothing it should not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import edgenats
import pytest
from edgenats.jetstream.file_store import open_file_store
from edgenats.jetstream.store import StoredMessage, SyncPolicy
from store_appends import append

WRITER = """
import asyncio, sys
from pathlib import Path
from edgenats.jetstream.file_store import open_file_store
from edgenats.jetstream.store import SyncPolicy

async def main():
    store = open_file_store(Path(sys.argv[1]), SyncPolicy(always=sys.argv[2] == "always"))
    room = asyncio.Semaphore(64)

    def stored(seqs, error):
        sys.stdout.write("".join(f"{seq}\\n" for seq in seqs))
        sys.stdout.flush()
        for _ in seqs:
            room.release()

    store.report_to(stored)
    index = 0
    while True:
        await room.acquire()
        index += 1
        headers = b"NATS/1.0\\r\\nI: %d\\r\\n\\r\\n" % index if index % 2 else None
        store.append(f"crash.{index % 7}", headers, b"payload-%d" % index, index)

asyncio.run(main())
"""


def expected(seq: int) -> StoredMessage:
    headers = b"NATS/1.0\r\nI: %d\r\n\r\n" % seq if seq % 2 else None
    return StoredMessage(seq, f"crash.{seq % 7}", headers, b"payload-%d" % seq, seq)


@pytest.mark.parametrize("sync", ["always", "interval"])
async def test_sigkill_mid_stream_loses_no_acknowledged_append(tmp_path, sync):
    folder = tmp_path / "stream"
    env = dict(os.environ, PYTHONPATH=str(Path(edgenats.__file__).resolve().parents[1]))
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(folder), sync], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env)
    acknowledged = []
    while len(acknowledged) < 1500:
        line = child.stdout.readline()
        assert line, f"writer died early: {child.stderr.read().decode()}"
        acknowledged.append(int(line))
    os.kill(child.pid, signal.SIGKILL)
    # Through the same buffered reader: lines it already took from the pipe are in its buffer.
    acknowledged += [int(line) for line in child.stdout.read().split()]
    child.stderr.close()
    assert child.wait() == -signal.SIGKILL

    store = open_file_store(folder, SyncPolicy())
    state = store.state()
    assert sorted(acknowledged) == list(range(1, len(acknowledged) + 1))
    assert [store.get(seq) for seq in acknowledged] == [expected(seq) for seq in acknowledged]
    # whatever else survived is whole, in sequence, and no gap
    assert state.first_seq == 1 and state.num_deleted == 0 and state.last_seq >= len(acknowledged)
    assert [store.get(seq) for seq in range(1, state.last_seq + 1)] == [
        expected(seq) for seq in range(1, state.last_seq + 1)]
    assert await append(store, "after", None, b"", 0) == state.last_seq + 1
    await store.close()
