"""Publish until acked with a stable Nats-Msg-Id (unats.js.js_publish_acked): a broker killed with SIGKILL and
restarted on the same store and port in the middle of a run of publishes, and an ack lost on the way back,
still leave every reading in the stream exactly once, on edgenats and on nats-server."""

from __future__ import annotations

import signal

import nats
from unats_helpers import EXTRAS_HEAP

COUNT = 20


async def stream_contents(url: str, stream: str) -> list[tuple[str, bytes]]:
    """(Nats-Msg-Id, payload) of every message in the stream, in stream order."""
    peer = await nats.connect(url)
    js = peer.jetstream()
    info = await js.stream_info(stream)
    stored = [await js.get_msg(stream, seq) for seq in range(info.state.first_seq, info.state.last_seq + 1)]
    await peer.close()
    return [(m.headers["Nats-Msg-Id"], m.data) for m in stored]


async def test_every_reading_once_across_a_kill_9_of_the_broker(server_kind, server_factory, tmp_path,
                                                                  start_device):
    arguments = ["-js", "-sd", str(tmp_path / "store")]
    broker = server_factory(server_kind, extra_args=arguments)
    peer = await nats.connect(broker.url)
    await peer.jetstream().add_stream(name="READINGS", subjects=["readings.>"])
    await peer.close()

    device = await start_device("js_acked.py", broker.url, COUNT, heap=EXTRAS_HEAP)
    assert await device.expect("ACK 3 ") == "ACK 3 3 True", "the copy stored before is acked as a duplicate"
    await device.expect("ACK 8 ")
    broker.stop(signal.SIGKILL)
    server_factory(server_kind, extra_args=arguments, port=broker.port)
    output = await device.finish(timeout=30)
    acks = [line.split() for line in output.splitlines() if line.startswith("ACK")]
    assert [int(a[1]) for a in acks] == list(range(1, COUNT + 1))
    assert [int(a[2]) for a in acks] == list(range(1, COUNT + 1)), "each reading's ack names its own sequence"
    assert "RECONNECTS 1" in output
    assert await stream_contents(broker.url, "READINGS") == [
        (f"dev1-{i}", b"reading-%d" % i) for i in range(1, COUNT + 1)]
