"""JetStream domains over a leaf link: a hub (domain `hub`) and an edge leaf (domain `site1`), one of
them edgenats and the other a real nats-server, or both real nats-servers as the reference. The
plain API and the KV/object-store subjects stay on their side; `$JS.<domain>.API` crosses, so a hub
client runs the edge's streams with `jetstream(domain="site1")` (and an edge client the hub's), and
pull deliveries come back over the link on the stored subject."""

from __future__ import annotations

import json

import nats
import pytest
from leaf_helpers import request_until_answered, wait_for_interest

EDGE_DOMAIN = "site1"


# Topologies (the ids name every kind): edgenats as the edge, as the hub, and the reference.
@pytest.fixture(params=["edgenats-leaf", "edgenats-hub", "reference"],
                ids=["edgenats-edge-nats-server-hub", "edgenats-hub-nats-server-edge", "nats-server-edge"])
async def domains(request, leaf_pair_factory, tmp_path):
    """(hub client, edge client) with JetStream in domains `hub` and `site1` on either side of the link."""
    topology = request.param
    pair = leaf_pair_factory(
        topology,
        hub_extra=f'jetstream {{ store_dir: "{tmp_path / "hub-js"}", domain: hub }}',
        leaf_extra=f'jetstream {{ store_dir: "{tmp_path / "edge-js"}", domain: {EDGE_DOMAIN} }}',
    )
    hub_nc = await nats.connect(pair.hub.url)
    edge_nc = await nats.connect(pair.leaf.url)
    await wait_for_interest(hub_nc, edge_nc)
    await wait_for_interest(edge_nc, hub_nc)
    # The edge's domain API is advertised with the edge's first interest; this waits for it.
    await request_until_answered(hub_nc, f"$JS.{EDGE_DOMAIN}.API.INFO")
    yield hub_nc, edge_nc
    for nc in (hub_nc, edge_nc):
        await nc.close()


async def answers(nc, subject: str, timeout: float = 0.25) -> list[str]:
    """The domains (or status codes) of every answer to one request: who answered, and how often."""
    inbox = nc.new_inbox()
    subscription = await nc.subscribe(inbox)
    await nc.publish(subject, b"", reply=inbox)
    got = []
    try:
        while True:
            message = await subscription.next_msg(timeout=timeout)
            status = (message.headers or {}).get("Status")
            got.append(status or json.loads(message.data).get("domain", ""))
    except nats.errors.TimeoutError:
        pass
    finally:
        await subscription.unsubscribe()
    return got


async def test_a_hub_client_runs_the_edge_streams_through_the_edge_domain(domains):
    hub_nc, _ = domains
    js = hub_nc.jetstream(domain=EDGE_DOMAIN)
    await js.add_stream(name="TELEMETRY", subjects=["telemetry.>"])
    # The publish crosses by the edge stream's interest; the PubAck comes from the edge.
    ack = await js.publish("telemetry.t1", b"21.5")
    assert (ack.stream, ack.seq, ack.domain) == ("TELEMETRY", 1, EDGE_DOMAIN)
    await js.publish("telemetry.t2", b"22.0")
    info = await js.stream_info("TELEMETRY")
    assert (info.state.messages, info.state.last_seq) == (2, 2)

    subscription = await js.pull_subscribe("telemetry.>", durable="reader", stream="TELEMETRY")
    messages = await subscription.fetch(2, timeout=3)
    # Deliveries cross the link on the request's inbox and are shown on the stored subject.
    assert [(m.subject, m.data) for m in messages] == [("telemetry.t1", b"21.5"), ("telemetry.t2", b"22.0")]
    assert [m.metadata.sequence.stream for m in messages] == [1, 2]
    for message in messages:
        await message.ack_sync()
    consumer = await js.consumer_info("TELEMETRY", "reader")
    assert (consumer.ack_floor.stream_seq, consumer.num_ack_pending, consumer.num_pending) == (2, 0, 0)
    # The hub's own JetStream has no such stream.
    with pytest.raises(nats.js.errors.NotFoundError):
        await hub_nc.jetstream().stream_info("TELEMETRY")


async def test_the_plain_api_and_the_kv_subjects_stay_on_their_side(domains):
    hub_nc, edge_nc = domains
    # Each side's plain API answers there only, once; each domain's API answers from anywhere.
    assert await answers(hub_nc, "$JS.API.INFO") == ["hub"]
    assert await answers(edge_nc, "$JS.API.INFO") == [EDGE_DOMAIN]
    assert await answers(edge_nc, "$JS.hub.API.INFO") == ["hub"]
    assert await answers(hub_nc, f"$JS.{EDGE_DOMAIN}.API.INFO") == [EDGE_DOMAIN]

    # A KV subscription at the edge is not advertised to the hub (nor does it cut the link).
    received = []

    async def keep(message):
        received.append(message.subject)

    await edge_nc.subscribe("$KV.config.mode", cb=keep)
    await edge_nc.subscribe("$OBJ.store.x", cb=keep)
    await wait_for_interest(edge_nc, hub_nc)
    assert await answers(hub_nc, "$KV.config.mode") == ["503"]
    await hub_nc.publish("$OBJ.store.x", b"x")
    # The link is still up and in order: what the hub sent before this probe has arrived.
    await wait_for_interest(edge_nc, hub_nc)
    assert received == []


async def test_an_edge_client_consumes_a_hub_stream_through_the_hub_domain(domains):
    hub_nc, edge_nc = domains
    js = edge_nc.jetstream(domain="hub")
    await js.add_stream(name="COMMANDS", subjects=["commands.>"])
    await hub_nc.jetstream().publish("commands.reboot", b"now")
    # The hub sends each delivery as `LMSG <inbox> <ack reply>@commands.reboot`; the edge shows the
    # stored subject and the plain ack reply to its client, whose ack then reaches the hub.
    subscription = await js.pull_subscribe("commands.>", durable="site1", stream="COMMANDS")
    [message] = await subscription.fetch(1, timeout=3)
    assert (message.subject, message.data, message.reply.count("@")) == ("commands.reboot", b"now", 0)
    await message.ack_sync()
    consumer = await js.consumer_info("COMMANDS", "site1")
    assert (consumer.ack_floor.stream_seq, consumer.num_ack_pending) == (1, 0)
