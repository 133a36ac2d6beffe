"""unats.aio on MicroPython's asyncio and on CPython's, against both servers, with nats-py as the peer."""

from __future__ import annotations

import asyncio

import nats
from unats_helpers import EXTRAS_HEAP, collect


async def test_aio_callbacks_requests_and_restart(server, server_factory, start_device):
    peer = await nats.connect(server.url)

    async def tell_time(msg):
        await msg.respond(b"12:00")

    await peer.subscribe("svc.time", cb=tell_time)
    await collect(peer, "svc.silent")
    out = await collect(peer, "dev1.out")
    device = await start_device("aio_device.py", server.url, heap=EXTRAS_HEAP)
    assert (await device.expect("REPLY")) == "REPLY 12:00"
    await device.expect("NORESPONDERS")
    await device.expect("TIMEOUT")
    await device.expect("READY")
    await peer.flush()
    assert [(m.data, m.headers) for m in out] == [(b"hello", {"K": "v"})]
    assert (await peer.request("dev1.ping", b"1", timeout=5)).data == b"pong:1"
    await peer.publish("dev1.note", b"plain callback", headers={"K": "x"})
    assert (await device.expect("NOTE")) == "NOTE plain callback x"
    await peer.close()

    server.stop()
    restarted = server_factory(server.kind, port=server.port)
    peer = await nats.connect(restarted.url)
    for _ in range(100):
        try:
            reply = await peer.request("dev1.ping", b"2", timeout=1)
            break
        except nats.errors.NoRespondersError:
            await asyncio.sleep(0.1)
    else:
        raise AssertionError("device did not come back:\n" + "\n".join(device.lines))
    assert reply.data == b"pong:2"
    await peer.publish("dev1.stop", b"")
    await peer.flush()
    assert "RECONNECTS 1" in await device.finish()
    await peer.close()
