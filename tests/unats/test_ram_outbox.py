"""The outbox in RAM: readings wait while no stream captures their subject (no responders), are stored once
the stream exists, and a reading the stream refuses (larger than its max_msg_size) is counted and skipped
rather than holding up the others; on edgenats and nats-server, from CPython and MicroPython."""

from __future__ import annotations

import nats
from test_js_acked import stream_contents
from unats_helpers import EXTRAS_HEAP


async def test_readings_wait_for_the_stream_and_a_refused_one_is_skipped(server_kind, server_factory, tmp_path,
                                                                         start_device):
    broker = server_factory(server_kind, extra_args=["-js", "-sd", str(tmp_path / "store")])
    device = await start_device("ram_outbox.py", broker.url, heap=EXTRAS_HEAP)
    epoch = (await device.expect("EPOCH")).split()[1]
    assert await device.expect("FULL") == "FULL 4"
    assert await device.expect("WAITING") == "WAITING no stream for readings.dev2"
    peer = await nats.connect(broker.url)
    await peer.jetstream().add_stream(name="READINGS", subjects=["readings.>"], max_msg_size=200)
    await peer.close()
    await device.send("GO")
    output = await device.finish()
    assert "DONE 3 0 1 message size exceeds maximum allowed" in output
    assert await stream_contents(broker.url, "READINGS") == [
        (f"dev2-{epoch}-{n}", b"reading-%d" % n) for n in (1, 2, 4)]
