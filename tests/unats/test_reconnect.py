"""Reconnect: subscriptions restored, publishes made while disconnected kept in a bounded outbox and sent
oldest first, what does not fit reported; fail-over across a list of servers."""

from __future__ import annotations

import asyncio

import nats
from servers import free_port
from unats_helpers import collect


async def test_outbox_sent_in_order_after_restart_and_overflow_reported(server, server_factory, start_device):
    device = await start_device("reconnect.py", server.url, 200)
    await device.expect("READY")
    server.stop()
    await device.expect("ERROR")
    queued = int((await device.expect("QUEUED")).split()[1])
    output = "\n".join(device.lines)
    assert 0 < queued < 20
    assert output.count("FULL outbox full") == 20 - queued

    restarted = server_factory(server.kind, port=server.port)
    peer = await nats.connect(restarted.url)
    got = await collect(peer, "dev.out")
    await device.send("GO")
    assert (await device.expect("RECONNECTED")) == "RECONNECTED 1"
    await peer.flush()
    await asyncio.sleep(0.1)
    assert [m.data for m in got] == [b"reading-%02d" % i for i in range(queued)]
    assert [m.headers.get("Seq") if m.headers else None for m in got][:2] == [None, "1"]

    await peer.publish("dev.in", b"after-restart")
    await peer.publish("dev.in", b"stop")
    await peer.flush()
    assert (await device.expect("IN")) == "IN after-restart"
    await device.finish()
    await peer.close()


async def test_fails_over_to_the_next_server(server_kind, server_factory, start_device):
    first, second = server_factory(server_kind), server_factory(server_kind)
    device = await start_device("failover.py", first.url, second.url)
    await device.expect("READY")
    first.stop()
    await device.expect("RECONNECTED")
    peer = await nats.connect(second.url)
    await peer.publish("dev.in", b"from-second")
    await peer.flush()
    assert (await device.expect("IN")) == "IN from-second"
    await device.finish()
    await peer.close()


async def test_publishes_before_the_first_connection_wait_for_the_server(server_kind, server_factory, start_device):
    port = free_port()
    device = await start_device("late_server.py", f"nats://127.0.0.1:{port}")
    await device.expect("DOWN")
    await device.expect("QUEUED")
    server = server_factory(server_kind, port=port)
    peer = await nats.connect(server.url)
    got = await collect(peer, "dev.out")
    await device.send("GO")
    await device.expect("CONNECTED")
    await device.finish()
    await peer.flush()
    await asyncio.sleep(0.1)
    assert [m.data for m in got] == [b"before-first-connect", b"with-header"]
    assert got[1].headers == {"Seq": "1"}
    await peer.close()
