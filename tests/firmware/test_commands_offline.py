"""Commands published at the hub while the site is offline reach the device after it reconnects: a real
nats-server hub (JetStream domain `hub`) holds the COMMANDS stream; the site's broker (edgenats, or nats-server
as the reference; domain `site1`) mirrors it into CMDS through `$JS.hub.API`; the device app on a virtual board
(simulated radio, access point) consumes its own commands from CMDS with a durable pull consumer
("commands_stream") and publishes a result for each. With the device's Wi-Fi off and the uplink cut the hub
takes commands; once both are back the device runs each exactly once, in order."""

from __future__ import annotations

import asyncio
import json

import nats
import pytest
from access_point import AccessPoint
from leafnode.leaf_helpers import LinkCutter, hub_config, leaf_config, request_until_answered, wait_for_interest
from servers import free_port, start_server
from subscribed import subscribed
from test_wifi_outage import PASSWORD, SSID, DeviceFeed, install, until

HUB_API = "$JS.hub.API"
DEVICE = "vc1"


@pytest.fixture(params=[pytest.param("edgenats", id="edgenats-edge-nats-server-hub"),
                        pytest.param("nats-server", id="nats-server-edge")])
async def site(request, tmp_path, virtual_board):
    """(hub, edge, cutter, access point): the hub's leaf port reached through a LinkCutter, the edge's client port
    through the access point the virtual board joins."""
    cutter = LinkCutter()
    relay_port = await cutter.start()
    cutter.target_port = free_port()
    hub = start_server("nats-server", tmp_path / "hub", hub_config(
        "hub", cutter.target_port, "  no_advertise: true", f'jetstream {{ store_dir: "{tmp_path / "hub-js"}", '
        "domain: hub }"))
    edge = start_server(request.param, tmp_path / "edge", leaf_config(
        "edge", f'url: "nats-leaf://127.0.0.1:{relay_port}"', f'jetstream {{ store_dir: "{tmp_path / "edge-js"}", '
        "domain: site1 }"))
    ap = AccessPoint(virtual_board.root, SSID, PASSWORD, edge.port)
    await ap.start()
    yield hub, edge, cutter, ap
    await ap.stop()
    edge.stop()
    hub.stop()
    await cutter.stop()


def results(feed: DeviceFeed) -> list[tuple]:
    """(stream sequence, command id, result or error) of each command result the device published, in order."""
    return [(body["seq"], body["command"], body.get("result", body.get("error")))
            for kind, body in feed.messages if kind == "result"]


async def consumer_once_acked(edge_nc, stream_seq: int) -> dict:
    """The device's consumer (CONSUMER.INFO) once its ack floor reached stream_seq: the ack leaves the device
    after the result, and through the access point's relay it may arrive a moment later."""
    async with asyncio.timeout(10):
        while True:
            answer = await edge_nc.request(f"$JS.API.CONSUMER.INFO.CMDS.cmd-{DEVICE}", b"", timeout=2)
            consumer = json.loads(answer.data)
            if consumer["ack_floor"]["stream_seq"] >= stream_seq:
                return consumer
            await asyncio.sleep(0.05)


async def test_commands_queued_at_the_hub_while_offline_run_once_in_order(site, virtual_board, tmp_path):
    hub, edge, cutter, ap = site
    hub_nc = await nats.connect(hub.url)
    edge_nc = await nats.connect(edge.url, max_reconnect_attempts=-1)
    await wait_for_interest(hub_nc, edge_nc)
    await request_until_answered(edge_nc, f"{HUB_API}.INFO")
    hub_js = hub_nc.jetstream()
    await hub_js.add_stream(name="COMMANDS", subjects=["commands.>"])
    mirror = {"name": "CMDS", "mirror": {"name": "COMMANDS", "external": {"api": HUB_API, "deliver": ""}}}
    created = json.loads((await edge_nc.request("$JS.API.STREAM.CREATE.CMDS", json.dumps(mirror).encode())).data)
    assert "error" not in created, created
    feed = DeviceFeed()
    await edge_nc.subscribe("devices.>", cb=feed.on_msg)
    await subscribed(edge_nc)

    ap.on()
    await install(virtual_board, ap, DEVICE, tmp_path, commands_stream="CMDS",
                  client={"reconnect_wait_max": 0.5})
    await until(lambda: feed.statuses(), "the device online", virtual_board, 60)
    await hub_js.publish(f"commands.{DEVICE}", b'{"op": "ping", "id": "c1"}')
    await hub_js.publish("commands.other", b'{"op": "ping", "id": "not-mine"}')
    await until(lambda: results(feed), "the first command's result", virtual_board, 15)
    assert results(feed) == [(1, "c1", {"id": DEVICE, "pong": True, "version": "0.1.0"})]
    # Its ack follows the result; a drop before the ack lands would run c1 again (at least once, by design).
    await consumer_once_acked(edge_nc, 1)

    # The device's Wi-Fi and the site's uplink both go down; the hub takes commands meanwhile.
    ap.off()
    cutter.cut()
    await until(lambda: len(ap.connects()) >= 2, "the device trying to rejoin", virtual_board, 15)
    for command in ({"op": "interval", "seconds": 0.3, "id": "c2"}, {"op": "read", "id": "c3"},
                    {"op": "stop", "id": "c4"}, {"op": "ping", "id": "c5"}):
        await hub_js.publish(f"commands.{DEVICE}", json.dumps(command).encode())
    assert results(feed) == [(1, "c1", {"id": DEVICE, "pong": True, "version": "0.1.0"})]

    cutter.mend()
    ap.on()
    await until(lambda: len(results(feed)) >= 5, "the queued commands run after the outage", virtual_board, 30)
    await hub_js.publish(f"commands.{DEVICE}", b'{"op": "ping", "id": "c6"}')
    await until(lambda: len(results(feed)) >= 6, "a command published after the outage", virtual_board, 15)
    got = results(feed)
    # Every command once, in the hub's order (seq 2 is the other device's), the refused one acked too.
    assert [(seq, command) for seq, command, _ in got] == [(1, "c1"), (3, "c2"), (4, "c3"), (5, "c4"), (6, "c5"),
                                                           (7, "c6")]
    assert got[1][2] == {"id": DEVICE, "interval_s": 0.3}
    assert got[2][2]["kind"] == "heap_free" and got[2][2]["id"] == DEVICE
    assert got[3][2] == "op stop is not run from the queue"
    assert got[4][2]["pong"] and got[5][2]["pong"]
    consumer = await consumer_once_acked(edge_nc, 7)
    assert (consumer["num_ack_pending"], consumer["num_redelivered"]) == (0, 0)
    assert consumer["config"]["filter_subject"] == f"commands.{DEVICE}"
    for nc in (hub_nc, edge_nc):
        await nc.close()
