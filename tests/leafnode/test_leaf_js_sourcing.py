"""A real nats-server hub stream sources an edge stream across the leaf link (`external.api`
`$JS.site1.API`): the hub creates its sourcing consumer through the edge's domain API (edgenats
answers the level-5 and level-4 attempts with 412/10185, and the hub falls back to a plain push
consumer with flow control and heartbeats), the deliveries cross as `<ack reply>@<subject>`, and after
the link is cut or the edge restarts the hub resumes where it stopped: no gap, no duplicate. The
edge is edgenats, or a real nats-server as the reference."""

from __future__ import annotations

import asyncio

import nats
import pytest
from leaf_helpers import request_until_answered, wait_for_interest
from nats.js.api import ExternalStream, StreamConfig, StreamSource
from subscribed import subscribed

WAIT = 10.0
# nats-server's hub checks its sources every 10 s and re-creates one that was silent for 10 s.
RESOURCE_WAIT = 30.0


# The hub is a real nats-server in every case: the ids say so.
EDGENATS_EDGE = pytest.param("edgenats", id="edgenats-edge-nats-server-hub")
REFERENCE_EDGE = pytest.param("nats-server", id="nats-server-edge")




async def connected(pair) -> tuple:
    """(hub client, edge client) once the edge's domain API is reachable from the hub."""
    hub_nc = await nats.connect(pair.hub.url)
    edge_nc = await nats.connect(pair.leaf.url)
    await wait_for_interest(hub_nc, edge_nc, timeout=WAIT)
    await request_until_answered(hub_nc, "$JS.site1.API.INFO", timeout=WAIT)
    return hub_nc, edge_nc


async def hub_holds(hub_nc, count: int, timeout: float = WAIT) -> list[tuple[str, bytes, int]]:
    """The hub stream's messages once it holds `count`: (subject, data, the source's sequence)."""
    js = hub_nc.jetstream()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (messages := (await js.stream_info("AGG")).state.messages) < count:
        assert loop.time() < deadline, f"the hub stream holds {messages} of {count}"
        await asyncio.sleep(0.1)
    stored = []
    for seq in range(1, messages + 1):
        message = await js.get_msg("AGG", seq)
        source = message.headers["Nats-Stream-Source"].split()
        assert source[0].startswith("TELEMETRY:")
        stored.append((message.subject, message.data, int(source[1])))
    return stored


async def publish(edge_nc, first: int, count: int) -> None:
    js = edge_nc.jetstream()
    for index in range(first, first + count):
        await js.publish(f"telemetry.s{index % 2}", f"t{index}".encode())


def edge_messages(count: int) -> list[tuple[str, bytes, int]]:
    return [(f"telemetry.s{index % 2}", f"t{index}".encode(), index + 1) for index in range(count)]


async def start_sourcing(hub_nc, edge_nc) -> None:
    """TELEMETRY at the edge with 3 messages; AGG at the hub sourcing it, holding them."""
    await edge_nc.jetstream().add_stream(name="TELEMETRY", subjects=["telemetry.>"])
    await publish(edge_nc, 0, 3)
    source = StreamSource(name="TELEMETRY", external=ExternalStream(api="$JS.site1.API"))
    await hub_nc.jetstream().add_stream(StreamConfig(name="AGG", sources=[source]))
    assert await hub_holds(hub_nc, 3) == edge_messages(3)


@pytest.mark.parametrize("relayed", [EDGENATS_EDGE, REFERENCE_EDGE], indirect=True)
async def test_the_hub_sources_the_edge_stream_across_a_cut_link(relayed):
    pair, cutter = relayed
    hub_nc, edge_nc = await connected(pair)
    await start_sourcing(hub_nc, edge_nc)
    # Live: a message stored at the edge now is sourced too.
    await publish(edge_nc, 3, 1)
    assert await hub_holds(hub_nc, 4) == edge_messages(4)
    info = await hub_nc.jetstream().stream_info("AGG")
    assert (info.sources[0].name, info.sources[0].lag) == ("TELEMETRY", 0)

    # The link drops; the edge stores on meanwhile; when the link is back the same consumer goes on.
    cutter.cut()
    await publish(edge_nc, 4, 3)
    assert await hub_holds(hub_nc, 4) == edge_messages(4)
    cutter.mend()
    assert await hub_holds(hub_nc, 7) == edge_messages(7)
    for nc in (hub_nc, edge_nc):
        await nc.close()


# About 20 s, all of it the hub's 10 s health-check cadence: run with edgenats as the edge only (a real
# nats-server edge took the same 20 s when this was written).
@pytest.mark.parametrize("relayed", [EDGENATS_EDGE], indirect=True)
async def test_the_hub_resumes_after_the_edge_restarts(relayed):
    pair, _ = relayed
    hub_nc, edge_nc = await connected(pair)
    await start_sourcing(hub_nc, edge_nc)
    # The edge stops and starts again on its store: the hub's consumer there is gone, and the hub
    # creates a new one from its last sourced sequence + 1 once it finds the source silent.
    await edge_nc.close()
    pair.leaf.stop()
    pair.start_leaf()
    hub_nc2, edge_nc = await connected(pair)
    await publish(edge_nc, 3, 2)
    assert await hub_holds(hub_nc, 5, timeout=RESOURCE_WAIT) == edge_messages(5)
    for nc in (hub_nc, hub_nc2, edge_nc):
        await nc.close()


@pytest.mark.parametrize("relayed", [EDGENATS_EDGE, REFERENCE_EDGE], indirect=True)
async def test_the_sourcing_consumer_has_flow_control_and_heartbeats_across_the_link(relayed):
    pair, _ = relayed
    hub_nc, edge_nc = await connected(pair)
    # A hub client sees what reaches the hub's deliver subject: the edge's flow-control requests
    # and idle heartbeats (statuses on the deliver subject) beside the deliveries.
    statuses: dict[str, asyncio.Future] = {"FlowControl Request": asyncio.Future(), "Idle Heartbeat": asyncio.Future()}

    async def watch(message):
        description = (message.headers or {}).get("Description", "")
        if message.subject.startswith("$JS.S.") and description in statuses and not statuses[description].done():
            statuses[description].set_result(message)

    await hub_nc.subscribe("$JS.S.>", cb=watch)
    await subscribed(hub_nc)
    await start_sourcing(hub_nc, edge_nc)
    # 2.5 MiB: past the first 2 MiB window, so deliveries go on only if the hub's answers come back.
    js = edge_nc.jetstream()
    for index in range(25):
        await js.publish("telemetry.bulk", bytes([index]) * 100 * 1024)
    stored = await hub_holds(hub_nc, 28)
    assert [(subject, len(data), seq) for subject, data, seq in stored[3:]] == [
        ("telemetry.bulk", 100 * 1024, seq) for seq in range(4, 29)]
    request = await asyncio.wait_for(statuses["FlowControl Request"], WAIT)
    assert request.reply.startswith("$JS.FC.TELEMETRY.")
    heartbeat = await asyncio.wait_for(statuses["Idle Heartbeat"], WAIT)
    assert heartbeat.headers["Status"] == "100"
    for nc in (hub_nc, edge_nc):
        await nc.close()
