"""The precompiled client on the MicroPython Unix port with a small heap: 5,000 messages, requests both
ways and a server restart without MemoryError. The heap figures it prints are reported in the README."""

from __future__ import annotations

import asyncio

import nats
import pytest

MESSAGES = 5000


@pytest.fixture
def runtime() -> str:
    return "micropython"


@pytest.mark.parametrize("heap", ["32K", "24K"])
async def test_soak_requests_and_restart_on_small_heap(server, server_factory, start_device, heap):
    peer = await nats.connect(server.url)

    async def echo(msg):
        await msg.respond(b"svc:" + msg.data)

    await peer.subscribe("svc.echo", cb=echo)
    device = await start_device("soak.py", server.url, MESSAGES, heap=heap)
    await device.expect("READY")
    payload = bytes(range(128))
    for _ in range(MESSAGES):
        await peer.publish("soak.data", payload)
    await peer.flush()
    soak = await device.expect("HEAP_SOAK", timeout=60)
    await device.expect("REQUESTS OK")
    for i in range(5):
        assert (await peer.request("dev.echo", b"%d" % i, timeout=5)).data == b"echo:%d" % i
    await peer.close()

    server.stop()
    restarted = server_factory(server.kind, port=server.port)
    peer = await nats.connect(restarted.url)
    for _ in range(100):  # the device reconnects on its own back-off schedule
        try:
            reply = await peer.request("dev.echo", b"again", timeout=1)
            break
        except nats.errors.NoRespondersError:
            await asyncio.sleep(0.1)
    else:
        raise AssertionError("device did not come back:\n" + "\n".join(device.lines))
    assert reply.data == b"echo:again", "the restored subscription answers after the restart"
    await peer.publish("dev.stop", b"")
    await peer.flush()
    output = await device.finish()
    assert "MemoryError" not in output
    received, _, free = map(int, soak.split()[1:])
    assert received == MESSAGES and free > 0
    reconnects = int(output.split("HEAP_END ")[1].split()[0])
    assert reconnects == 1
    print(f"\n[{heap} heap, {server.kind}] {output}")
    await peer.close()
