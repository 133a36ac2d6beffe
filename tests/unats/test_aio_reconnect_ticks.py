"""unats.aio reconnects without blocking the event loop: a ticker task keeps its pace while the client tries a
blackholed address (a listener whose backlog is full, so connects hang) and a server that accepts and never
answers, each until the client's timeout, before the real server comes back."""

from __future__ import annotations

import asyncio
import socket

import pytest

PERIOD_MS = 50
MOST_PERIODS = 20  # generous (a loaded machine delays a tick by most of a second); a reconnect that
# blocked would stall the ticker for the client's whole 1.5 s timeout


@pytest.fixture
def blackhole():
    """A listening socket that never accepts, its one-slot backlog filled: connects to it never complete."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    for _ in range(3):
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        filler.setblocking(False)
        filler.connect_ex(listener.getsockname())
        fillers.append(filler)
    yield f"nats://127.0.0.1:{listener.getsockname()[1]}"
    for sock in (*fillers, listener):
        sock.close()


@pytest.fixture
async def silent_server():
    """A TCP server that accepts and never sends a byte (no INFO); .accepted is set at its first connection."""
    held: list[asyncio.StreamWriter] = []
    accepted = asyncio.Event()

    async def hold(_reader, writer):
        held.append(writer)
        accepted.set()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    server.accepted = accepted
    server.url = f"nats://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    yield server
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_ticker_keeps_its_pace_while_reconnecting_to_nats_server(server_factory, start_device, blackhole,
                                                                       silent_server):
    """The broker is nats-server because it restarts in milliseconds: the client, not the broker, is tested."""
    broker = server_factory("nats-server")
    device = await start_device("aio_ticker.py", broker.url, blackhole, silent_server.url, heap="64K")
    await device.expect("READY")
    broker.stop()
    await device.expect("DOWN")
    await asyncio.wait_for(silent_server.accepted.wait(), 10)  # the blackhole was tried before it
    server_factory("nats-server", port=broker.port)
    back = (await device.expect("BACK")).split()
    reconnects, gap, ticks, down_ms = map(int, back[1:])
    assert reconnects == 1
    assert down_ms >= 3000, "the client waited out its timeout at the blackhole and at the silent server"
    assert gap <= MOST_PERIODS * PERIOD_MS, f"the ticker stalled for {gap} ms while reconnecting"
    assert ticks * PERIOD_MS * 2 >= down_ms, f"only {ticks} ticks in {down_ms} ms"
    await device.finish()
