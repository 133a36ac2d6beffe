"""Idle heartbeats and flow control of push consumers, on both servers: the heartbeat's last consumer
and stream sequences, the reference's flow-control window (a request once half of 2 MiB is
outstanding, a stall at the whole window, reported on heartbeats as Nats-Consumer-Stalled, resumed by
the reply), and nats-py receiving a burst larger than its subscription's pending limit gap-free."""

from __future__ import annotations

import asyncio
import json
import time

import nats

CHUNK = 128 * 1024


async def create(nc, stream: str, config: dict) -> dict:
    reply = await nc.request(f"$JS.API.CONSUMER.CREATE.{stream}", json.dumps(
        {"stream_name": stream, "config": config}).encode(), timeout=2)
    return json.loads(reply.data)


def is_status(message, description: str) -> bool:
    return bool(message.headers) and message.headers.get("Status") == "100" and \
        message.headers.get("Description") == description


async def test_idle_heartbeats_name_the_last_delivery(nc):
    js = nc.jetstream()
    await js.add_stream(name="HB", subjects=["hb.>"])
    for index in range(3):
        await js.publish(f"hb.{index}", b"x")
    sub = await nc.subscribe("deliver.hb")
    await create(nc, "HB", {"deliver_subject": "deliver.hb", "deliver_policy": "new", "idle_heartbeat": 200_000_000})
    started = time.monotonic()
    beat = await sub.next_msg(timeout=2)
    assert time.monotonic() - started >= 0.15
    assert is_status(beat, "Idle Heartbeat") and (beat.subject, beat.reply, beat.data) == ("deliver.hb", "", b"")
    assert (beat.headers["Nats-Last-Consumer"], beat.headers["Nats-Last-Stream"]) == ("0", "3")
    await js.publish("hb.new", b"y")
    message = await sub.next_msg(timeout=2)
    assert (message.subject, message.data) == ("hb.new", b"y")
    beat = await sub.next_msg(timeout=2)
    assert is_status(beat, "Idle Heartbeat")
    assert (beat.headers["Nats-Last-Consumer"], beat.headers["Nats-Last-Stream"]) == ("1", "4")


async def test_flow_control_window_stalls_until_answered(nc):
    js = nc.jetstream()
    await js.add_stream(name="FC", subjects=["fc.>"])
    for _ in range(40):
        await js.publish("fc.x", b"z" * CHUNK)
    sub = await nc.subscribe("deliver.fc")
    await create(nc, "FC", {"name": "W", "deliver_subject": "deliver.fc", "flow_control": True,
                            "idle_heartbeat": 200_000_000})
    delivered = 0
    requests = []
    while True:
        message = await sub.next_msg(timeout=3)
        if is_status(message, "FlowControl Request"):
            assert message.reply.startswith("$JS.FC.FC.W.") and len(message.reply.split(".")) == 5
            requests.append((delivered, message.reply))
        elif is_status(message, "Idle Heartbeat"):
            break
        else:
            delivered += 1
    # More than 1 MiB outstanding asks; more than 2 MiB stops; the heartbeat says what it waits for.
    assert [at for at, _ in requests] == [8] and delivered == 16
    assert message.headers["Nats-Consumer-Stalled"] == requests[0][1]
    assert message.headers["Nats-Last-Consumer"] == "16"
    await nc.publish(requests[0][1], b"")
    while delivered < 40:
        message = await sub.next_msg(timeout=3)
        if is_status(message, "FlowControl Request"):
            requests.append((delivered, message.reply))
            await nc.publish(message.reply, b"")
        elif not message.headers:
            delivered += 1
    assert [at for at, _ in requests] == [8, 24]  # the window doubled to 4 MiB


async def test_nats_py_burst_beyond_the_pending_limit_arrives_whole(js_server):
    errors = []

    async def on_error(error):
        errors.append(error)

    nc = await nats.connect(js_server.url, error_cb=on_error)
    js = nc.jetstream()
    await js.add_stream(name="BURST", subjects=["burst.>"])
    payload = b"b" * CHUNK
    await asyncio.gather(*[js.publish("burst.x", payload) for _ in range(40)])
    # 40 x 128 KiB = 5 MiB at once, more than the 4.5 MiB this subscription may hold: only flow
    # control keeps it from being a slow consumer that drops messages. (nats-py answers a flow-control
    # request when its queue has drained past it, on subscriptions read with next_msg; with a
    # callback it answers on receipt, which would not hold anything back.)
    sub = await js.subscribe("burst.>", flow_control=True, idle_heartbeat=0.5, pending_bytes_limit=4_500_000)
    received = []
    for _ in range(40):
        message = await sub.next_msg(timeout=3)
        received.append(message.metadata.sequence.stream)
        await asyncio.sleep(0.005)
    assert received == list(range(1, 41)) and errors == []
    await sub.unsubscribe()
    await nc.close()
