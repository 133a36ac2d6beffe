"""A durable pull consumer from a device (unats.pull) in a small MicroPython heap and on CPython, against edgenats
and nats-server: a filtered batch, redelivery of what was not acked, a waiting pull answered by a later
publish, a deleted consumer made again (a pull request that finds none creates it), and one that cannot be
made."""

from __future__ import annotations

import asyncio

import nats

# The blocking core with unats.pull and this script (figures in the README).
PULL_HEAP = "32K"


async def acked_all(js):
    """The consumer's info once it has taken every ack (nats-server applies them a moment after they arrive)."""
    async with asyncio.timeout(5):
        while (info := await js.consumer_info("CMDS", "cmd-dev1")).num_ack_pending:
            await asyncio.sleep(0.02)
    return info


async def test_pull_batch_ack_redelivery_and_recreate(server_kind, server_factory, tmp_path, start_device):
    broker = server_factory(server_kind, extra_args=["-js", "-sd", str(tmp_path / "store")])
    peer = await nats.connect(broker.url)
    js = peer.jetstream()
    await js.add_stream(name="CMDS", subjects=["commands.>"])
    for subject, data in (("commands.dev1", b"c1"), ("commands.dev2", b"other"), ("commands.dev1", b"c2"),
                          ("commands.dev1", b"c3")):
        await js.publish(subject, data)

    device = await start_device("pull.py", broker.url, heap=PULL_HEAP)
    # subject, data, delivery count, stream sequence, consumer sequence, pending
    assert [await device.expect("MSG") for _ in range(4)] == [
        "MSG commands.dev1 c1 1 1 1 2", "MSG commands.dev1 c2 1 3 2 1", "MSG commands.dev1 c3 1 4 3 0",
        "MSG commands.dev1 c3 2 4 4 0"], "c3, not acked, comes again after ack_wait"
    await device.expect("WAITING")
    await js.publish("commands.dev1", b"c4")
    assert await device.expect("PUMPED") == "PUMPED commands.dev1 c4 1 5 5 0"
    await device.expect("ACKED")
    info = await acked_all(js)
    assert (info.ack_floor.stream_seq, info.num_ack_pending, info.num_pending) == (5, 0, 0)
    assert (info.config.max_ack_pending, info.config.ack_wait, info.config.filter_subject) == (
        10, 0.5, "commands.dev1")

    await js.delete_consumer("CMDS", "cmd-dev1")
    await device.send("GO")
    assert [(await device.expect("REMADE")).split()[2] for _ in range(4)] == ["c1", "c2", "c3", "c4"]
    assert await device.expect("MISSING") == "MISSING 3 0", "created, waiting to pull again"
    assert (await js.consumer_info("CMDS", "cmd-dev1")).num_pending == 0
    assert await device.expect("V2") == "V2 2 7 9 3"
    output = await device.finish()
    assert "MemoryError" not in output
    await peer.close()
