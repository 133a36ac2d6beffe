"""Ordered consumers as nats-py drives them (`js.subscribe(..., ordered_consumer=True)`), on both
servers: in-order delivery with heartbeats and flow control, and recovery after a reset: the
consumer deleted server-side is found by missing heartbeats; nats-py then creates a new consumer
from the next stream sequence and the messages continue in order. (A gap cannot be staged from a
client: nats-server refuses publishes with a `$JS.ACK` reply.)"""

from __future__ import annotations

from js_helpers import api


async def stream_with(js, count: int) -> None:
    await js.add_stream(name="ORD", subjects=["ord.>"])
    for index in range(count):
        await js.publish(f"ord.{index}", f"o{index}".encode())


async def receive(sub, count: int) -> list[bytes]:
    return [(await sub.next_msg(timeout=5)).data for _ in range(count)]


async def test_ordered_consumer_delivers_in_order(nc):
    js = nc.jetstream()
    await stream_with(js, 3)
    sub = await js.subscribe("ord.>", ordered_consumer=True, idle_heartbeat=0.2)
    assert await receive(sub, 3) == [b"o0", b"o1", b"o2"]
    [info] = (await api(nc, "$JS.API.CONSUMER.LIST.ORD"))["consumers"]
    config = info["config"]
    assert (config["ack_policy"], config["max_deliver"], config["flow_control"], config["mem_storage"]) == (
        "none", 1, True, True)
    assert (info["ack_floor"]["stream_seq"], info["num_pending"]) == (3, 0)
    await sub.unsubscribe()


async def test_ordered_consumer_survives_its_deletion(nc):
    js = nc.jetstream()
    await stream_with(js, 3)
    sub = await js.subscribe("ord.>", ordered_consumer=True, idle_heartbeat=0.2)
    assert await receive(sub, 3) == [b"o0", b"o1", b"o2"]
    [first] = (await api(nc, "$JS.API.CONSUMER.NAMES.ORD"))["consumers"]
    assert (await api(nc, f"$JS.API.CONSUMER.DELETE.ORD.{first}"))["success"] is True
    for index in range(3, 6):
        await js.publish(f"ord.{index}", f"o{index}".encode())
    # No heartbeat for two intervals: nats-py creates a new consumer starting at stream seq 4.
    assert await receive(sub, 3) == [b"o3", b"o4", b"o5"]
    [second] = (await api(nc, "$JS.API.CONSUMER.LIST.ORD"))["consumers"]
    assert second["name"] != first
    assert (second["config"]["deliver_policy"], second["config"]["opt_start_seq"]) == ("by_start_sequence", 4)
    await sub.unsubscribe()

