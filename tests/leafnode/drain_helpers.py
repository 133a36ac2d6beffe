"""Paced-drain test helpers: a real nats-server hub stream (AGG) sourcing an edge's TELEMETRY stream
through `$JS.site1.API`, a backlog stored at the edge while the link is cut, and waits on the hub stream."""

from __future__ import annotations

import asyncio
import time

import nats
from leaf_helpers import request_until_answered, wait_for_interest
from nats.js.api import ExternalStream, StreamConfig, StreamSource

WAIT = 15.0


async def hub_stream(hub_nc) -> tuple[int, int]:
    state = (await hub_nc.jetstream().stream_info("AGG")).state
    return state.messages, state.bytes


async def hub_reaches(hub_nc, count: int, timeout: float = WAIT) -> tuple[float, int]:
    """(monotonic time, stored bytes) when the hub stream first holds at least `count` messages."""
    deadline = time.monotonic() + timeout
    while True:
        messages, stored = await hub_stream(hub_nc)
        if messages >= count:
            return time.monotonic(), stored
        assert time.monotonic() < deadline, f"the hub stream holds {messages} of {count}"
        await asyncio.sleep(0.02)


async def backlog_behind_a_cut(pair, cutter, count: int, payload: bytes, mend: bool = True) -> tuple:
    """Sourcing set up with one message across, then `count` messages stored at the edge while the
    link was cut; returns (hub client, edge client) just after the link is mended (or still cut)."""
    hub_nc = await nats.connect(pair.hub.url)
    edge_nc = await nats.connect(pair.leaf.url, max_reconnect_attempts=-1)
    await wait_for_interest(hub_nc, edge_nc, timeout=WAIT)
    await request_until_answered(hub_nc, "$JS.site1.API.INFO", timeout=WAIT)
    edge_js = edge_nc.jetstream()
    await edge_js.add_stream(name="TELEMETRY", subjects=["telemetry.>"])
    await edge_js.publish("telemetry.first", b"first")
    source = StreamSource(name="TELEMETRY", external=ExternalStream(api="$JS.site1.API"))
    await hub_nc.jetstream().add_stream(StreamConfig(name="AGG", sources=[source]))
    await hub_reaches(hub_nc, 1)
    cutter.cut()
    for index in range(count):
        await edge_js.publish(f"telemetry.s{index % 4}", payload)
    if mend:
        cutter.mend()
    return hub_nc, edge_nc
