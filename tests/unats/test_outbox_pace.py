"""The outbox sends its next reading as soon as the PubAck of the one before is read, in the same pump(): an
application loop that waits for input between pumps (as the device app does) never waits idle while readings
are pending, so a backlog drains at the broker's round-trip pace; on edgenats and nats-server, from CPython
and MicroPython."""

from __future__ import annotations

import nats
from test_js_acked import stream_contents
from unats_helpers import EXTRAS_HEAP


async def test_the_next_reading_leaves_with_the_ack_of_the_one_before(server_kind, server_factory, tmp_path,
                                                                       start_device):
    broker = server_factory(server_kind, extra_args=["-js", "-sd", str(tmp_path / "store")])
    peer = await nats.connect(broker.url)
    await peer.jetstream().add_stream(name="READINGS", subjects=["readings.>"])
    device = await start_device("outbox_pace.py", broker.url, heap=EXTRAS_HEAP)
    assert "DONE 5 0" in await device.finish(), "five readings acked, no wait for input ran out"
    assert [data for _, data in await stream_contents(broker.url, "READINGS")] == [
        b"reading-%d" % n for n in range(1, 6)]
    await peer.close()
