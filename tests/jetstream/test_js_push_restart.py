"""A durable push consumer of a file stream keeps its config and position across a server restart,
on both servers: nats-py binds to it again by name and gets what was not acknowledged."""

from __future__ import annotations

import nats
from nats.js.api import ConsumerConfig


async def test_durable_push_consumer_survives_a_restart(server_kind, server_factory, tmp_path):
    arguments = ["-js", "-sd", str(tmp_path / "store")]
    first = server_factory(server_kind, extra_args=arguments)
    nc = await nats.connect(first.url)
    js = nc.jetstream()
    await js.add_stream(name="KEPT", subjects=["kept.>"])
    for index in range(4):
        await js.publish(f"kept.{index}", f"k{index}".encode())
    # What was delivered and not acked comes again after ack_wait (nats-server) or at once (edgenats).
    sub = await js.subscribe("kept.>", durable="PUSHD", config=ConsumerConfig(ack_wait=0.5))
    for _ in range(2):
        await (await sub.next_msg(timeout=3)).ack_sync()
    deliver_subject = (await js.consumer_info("KEPT", "PUSHD")).config.deliver_subject
    await nc.close()
    first.stop()

    second = server_factory(server_kind, extra_args=arguments)
    nc = await nats.connect(second.url)
    js = nc.jetstream()
    info = await js.consumer_info("KEPT", "PUSHD")
    assert (info.config.deliver_subject, info.ack_floor.stream_seq, info.push_bound) == (deliver_subject, 2, None)
    sub = await js.subscribe("kept.>", durable="PUSHD")
    rest = [await sub.next_msg(timeout=3) for _ in range(2)]
    assert [message.data for message in rest] == [b"k2", b"k3"]
    await nc.close()
