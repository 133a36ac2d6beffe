"""Object Store reads that ride on ordered push consumers, through nats-py on both servers: `get` of
a multi-chunk object (chunks until the ack reply's pending is 0, digest checked), `list` and
`watch`. The bucket is made by nats-py's own `create_object_store` (which always turns on
allow_direct), on file and on memory storage."""

from __future__ import annotations

import pytest
from nats.js.api import StorageType


@pytest.fixture(params=[StorageType.FILE, StorageType.MEMORY], ids=["file", "memory"])
async def obs(nc, request):
    return await nc.jetstream().create_object_store("FILES", storage=request.param)


async def test_put_get_of_a_multi_chunk_object(obs):
    data = bytes(range(256)) * 1200  # 307200 bytes: three 128 KiB chunks
    info = await obs.put("big.bin", data)
    assert (info.size, info.chunks) == (len(data), 3)
    result = await obs.get("big.bin")
    assert result.data == data and result.info.name == "big.bin"
    await obs.put("empty", b"")
    assert (await obs.get("empty")).data == b""


async def test_list_and_watch(obs):
    await obs.put("one.txt", b"1")
    await obs.put("two.txt", b"22")
    await obs.put("one.txt", b"111")
    listed = await obs.list()
    assert sorted((info.name, info.size) for info in listed) == [("one.txt", 3), ("two.txt", 2)]
    watcher = await obs.watch()
    initial = [await watcher.updates(timeout=3) for _ in range(2)]
    assert sorted(info.name for info in initial) == ["one.txt", "two.txt"]
    assert await watcher.updates(timeout=3) is None  # initial values done
    await obs.delete("two.txt")
    deleted = await watcher.updates(timeout=3)
    assert (deleted.name, deleted.deleted) == ("two.txt", True)
    await watcher.stop()
    assert [info.name for info in await obs.list(ignore_deletes=True)] == ["one.txt"]
