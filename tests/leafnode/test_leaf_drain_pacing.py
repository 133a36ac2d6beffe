"""Paced drain (an edgenats extension): a real nats-server hub stream sources an edgenats edge stream
(`$JS.site1.API`) that stored a backlog while the link was cut. With the remote's `drain_rate` the hub
stream fills at about that rate (measured from the hub's own stream info), while core messages cross
at once (a request answered across the link mid-drain), and the edge's /leafz shows the drain: the
backlog and its lag going down to 0, the rate, the limit. Without `drain_rate` the backlog goes up
unpaced, as before."""

from __future__ import annotations

import time

import pytest
from drain_helpers import backlog_behind_a_cut, hub_reaches, hub_stream
from leaf_helpers import LinkCutter, poll_monitor, request_until_answered
from servers import free_port
from subscribed import subscribed

WAIT = 15.0
BACKLOG = 200
PAYLOAD = b"x" * 1024
RATE = 100 * 1024  # drain_rate: 100KB (KB is 1024 bytes): the 200 KiB backlog takes about 2 s


@pytest.fixture
async def edge(request, leaf_pair_factory, tmp_path):
    """(pair, cutter, edge http port): a nats-server hub (JetStream, domain hub) and an edgenats edge
    (domain site1) linked through a LinkCutter, with the remote's drain_rate set to the test's
    parameter (None: unset)."""
    cutter = LinkCutter()
    port = await cutter.start()
    http_port = free_port()
    rate = f"\n  drain_rate: {request.param}" if request.param else ""
    pair = leaf_pair_factory(
        "edgenats-leaf",
        remote=f'url: "nats-leaf://127.0.0.1:{port}"{rate}',
        hub_leaf_block="  no_advertise: true",
        hub_extra=f'jetstream {{ store_dir: "{tmp_path / "hub-js"}", domain: hub }}',
        leaf_extra=f'http: "127.0.0.1:{http_port}"\njetstream {{ store_dir: "{tmp_path / "edge-js"}", domain: site1 }}',
        start=False,
    )
    cutter.target_port = pair.leaf_listen_port
    pair.start_hub()
    pair.start_leaf()
    yield pair, cutter, http_port
    await cutter.stop()


def drain_of(leafz: dict) -> dict:
    return leafz["remotes"][0]["drain"]


@pytest.mark.parametrize("edge", [pytest.param("100KB", id="edgenats-edge-nats-server-hub")], indirect=True)
async def test_a_paced_drain_goes_up_at_the_rate_while_live_traffic_flows(edge):
    pair, cutter, http_port = edge
    hub_nc, edge_nc = await backlog_behind_a_cut(pair, cutter, BACKLOG, PAYLOAD)

    async def echo(message):
        await edge_nc.publish(message.reply, b"pong:" + message.data)

    await edge_nc.subscribe("svc.ping", cb=echo)
    await subscribed(edge_nc)
    started, first_bytes = await hub_reaches(hub_nc, 2)

    # Mid-drain: /leafz shows what is left, its age and the limit; a request crosses at once.
    leafz = await poll_monitor(http_port, "/leafz", lambda document: drain_of(document)["backlog_msgs"] > 0)
    drain = drain_of(leafz)
    assert drain["limit_bytes"] == RATE
    assert 0 < drain["backlog_msgs"] <= BACKLOG and drain["backlog_bytes"] >= drain["backlog_msgs"] * len(PAYLOAD)
    assert drain["lag_seconds"] > 0 and drain["consumers"] == 1
    assert leafz["leafs"][0]["drain"]["limit_bytes"] == RATE
    asked = time.monotonic()
    reply = await request_until_answered(hub_nc, "svc.ping", payload=b"live", timeout=WAIT)
    answered_in = time.monotonic() - asked
    assert reply.data == b"pong:live"
    assert answered_in < 0.5
    assert (await hub_stream(hub_nc))[0] < 1 + BACKLOG  # the backlog is still going up

    finished, last_bytes = await hub_reaches(hub_nc, 1 + BACKLOG)
    rate = (last_bytes - first_bytes) / (finished - started)
    assert 0.5 * RATE < rate < 1.5 * RATE, rate
    drained = await poll_monitor(http_port, "/leafz", lambda document: drain_of(document)["backlog_msgs"] == 0)
    assert drain_of(drained)["backlog_msgs"] == 0 and drain_of(drained)["lag_seconds"] == 0
    assert drain_of(drained)["rate_bytes"] > 0
    for nc in (hub_nc, edge_nc):
        await nc.close()


@pytest.mark.parametrize("edge", [pytest.param(None, id="edgenats-edge-nats-server-hub")], indirect=True)
async def test_without_drain_rate_the_backlog_goes_up_unpaced(edge):
    pair, cutter, http_port = edge
    hub_nc, edge_nc = await backlog_behind_a_cut(pair, cutter, BACKLOG, PAYLOAD)
    started, _ = await hub_reaches(hub_nc, 2)
    finished, _ = await hub_reaches(hub_nc, 1 + BACKLOG)
    # 200 KiB would take 2 s at the paced test's rate.
    assert finished - started < 1.0
    leafz = await poll_monitor(http_port, "/leafz", lambda document: drain_of(document)["backlog_msgs"] == 0)
    assert drain_of(leafz)["limit_bytes"] == 0
    for nc in (hub_nc, edge_nc):
        await nc.close()
