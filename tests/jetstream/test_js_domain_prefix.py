"""A JetStream domain is also an API prefix: with `domain: edge` the API answers on `$JS.edge.API.>` as on
`$JS.API.>`, so that nats-py's `nc.jetstream(domain="edge")` (as a hub's clients address a site) works
on the node itself: stream admin, publish, pull consumers and acks."""

from __future__ import annotations

import json

import nats
import pytest


@pytest.fixture
async def domain_client(server_kind, server_factory, tmp_path):
    server = server_factory(server_kind, f'jetstream {{ store_dir: "{tmp_path / "js"}", domain: edge }}\n')
    client = await nats.connect(server.url)
    yield client
    await client.close()


async def test_domain_prefixed_api_serves_the_same_streams(domain_client):
    js = domain_client.jetstream(domain="edge")
    await js.add_stream(name="READINGS", subjects=["readings.>"])
    ack = await js.publish("readings.t1", b"21.5")
    assert (ack.stream, ack.seq, ack.domain) == ("READINGS", 1, "edge")

    # The plain prefix sees what the domain prefix made, and the other way round.
    plain = domain_client.jetstream()
    assert (await plain.stream_info("READINGS")).state.messages == 1
    await plain.publish("readings.t2", b"22.0")

    subscription = await js.pull_subscribe("readings.>", durable="reader")
    messages = await subscription.fetch(2, timeout=2)
    assert [(m.subject, m.data) for m in messages] == [("readings.t1", b"21.5"), ("readings.t2", b"22.0")]
    for message in messages:
        await message.ack_sync()
    info = await js.consumer_info("READINGS", "reader")
    assert (info.ack_floor.stream_seq, info.num_ack_pending) == (2, 0)


async def test_other_domains_have_no_responders(domain_client):
    with pytest.raises(nats.errors.NoRespondersError):
        await domain_client.request("$JS.hub.API.INFO", b"", timeout=2)
    answer = json.loads((await domain_client.request("$JS.edge.API.INFO", b"", timeout=2)).data)
    assert answer["domain"] == "edge"
