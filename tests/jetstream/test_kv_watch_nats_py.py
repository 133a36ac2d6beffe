"""Key-Value reads that ride on ordered push consumers, through nats-py on both servers: `keys`,
`history`, `watch` and `watchall` (initial values, the "initial values done" marker, live updates,
delete markers). The bucket is made by nats-py's own `create_key_value`, with direct reads off
and on (the watch path is the same; `get` then reads by DIRECT.GET or by STREAM.MSG.GET)."""

from __future__ import annotations

import nats.js.errors
import pytest
from nats.js.kv import KV_DEL


@pytest.fixture(params=[False, True], ids=["stream_get", "direct"])
async def kv(nc, request):
    return await nc.jetstream().create_key_value(bucket="CFG", history=5, direct=request.param)


async def test_keys_and_history(kv):
    with pytest.raises(nats.js.errors.NoKeysError):
        await kv.keys()
    await kv.put("a", b"1")
    await kv.put("b.c", b"2")
    await kv.put("a", b"3")
    await kv.put("gone", b"x")
    await kv.delete("gone")
    assert sorted(await kv.keys()) == ["a", "b.c"]
    assert ((await kv.get("a")).value, (await kv.status()).history) == (b"3", 5)
    history = await kv.history("a")
    assert [(entry.value, entry.revision) for entry in history] == [(b"1", 1), (b"3", 3)]
    assert [entry.delta for entry in history] == [1, 0]


async def test_watchall_gives_initial_values_then_updates(kv):
    await kv.put("a", b"1")
    await kv.put("b", b"2")
    await kv.put("a", b"3")
    await kv.delete("b")
    watcher = await kv.watchall()
    initial = [await watcher.updates(timeout=3) for _ in range(2)]
    assert [(e.key, e.value, e.revision, e.operation) for e in initial] == [("a", b"3", 3, None),
                                                                             ("b", b"", 4, KV_DEL)]
    assert await watcher.updates(timeout=3) is None  # initial values done
    await kv.put("c", b"new")
    live = await watcher.updates(timeout=3)
    assert (live.key, live.value, live.revision, live.delta) == ("c", b"new", 5, 0)
    await watcher.stop()


async def test_watch_of_one_key_and_of_an_empty_bucket(kv):
    watcher = await kv.watch("a")
    assert await watcher.updates(timeout=3) is None  # nothing yet
    await kv.put("other", b"o")
    await kv.put("a", b"1")
    # nats-py may hand over its "initial values done" marker (None) again when its ordered consumer resets.
    while (update := await watcher.updates(timeout=3)) is None:
        pass
    assert (update.key, update.value, update.revision) == ("a", b"1", 2)
    await watcher.stop()
    keys_only = await kv.watch("a", meta_only=True)
    entry = await keys_only.updates(timeout=3)
    assert (entry.key, entry.value, entry.revision) == ("a", b"", 2)
    await keys_only.stop()
