"""Leaf-link traffic is counted as nats-server counts it: in /varz totals (and `leafnodes`), per link in
/leafz, and as a `Leafnode` connection in /connz; a closed link's counts stay in the totals.

nats-server (2.15) counts a message once per connection it crosses, header bytes included, and lists
leaf links in /connz (without a `type`) but not in /varz `connections` or `total_connections`.
"""

from __future__ import annotations

import nats
import pytest
from leaf_helpers import monitor_get, poll_monitor, wait_count
from servers import free_port
from subscribed import subscribed

PLAIN = 10
WITH_HEADERS = 3
PAYLOAD = b"x" * 100
HEADERS = {"K": "V"}
# nats-py sends HEADERS as "NATS/1.0\r\nK: V\r\n\r\n": HMSG sizes count it with the payload.
HEADERED_SIZE = len(b"NATS/1.0\r\nK: V\r\n\r\n") + len(PAYLOAD)
UP_MSGS, UP_BYTES = PLAIN + WITH_HEADERS, PLAIN * len(PAYLOAD) + WITH_HEADERS * HEADERED_SIZE
DOWN_MSGS, DOWN_BYTES = PLAIN, PLAIN * len(PAYLOAD)
COUNTERS = ("in_msgs", "out_msgs", "in_bytes", "out_bytes")


def counts(document: dict) -> tuple[int, ...]:
    return tuple(document[name] for name in COUNTERS)


async def collect(nc, subject: str) -> list:
    received: list = []

    async def append(msg) -> None:
        received.append(msg)

    await nc.subscribe(subject, cb=append)
    await subscribed(nc)
    return received


def link_interest(leafz: dict) -> set[str]:
    return {subject for link in leafz["leafs"] for subject in link.get("subscriptions_list", ())}


async def await_interest(http_port: int, subject: str) -> None:
    """Poll /leafz on the publishing side until the far side's subscription has crossed the link
    (a request probe would add messages of its own to the counts)."""
    leafz = await poll_monitor(http_port, "/leafz?subs=1", lambda doc: subject in link_interest(doc))
    assert subject in link_interest(leafz), f"interest in {subject} never crossed the link"


@pytest.mark.parametrize("stopped", ["hub", "leaf"])
async def test_leaf_link_traffic_is_counted_like_nats_server(leaf_pair_factory, topology, stopped):
    hub_http, leaf_http = free_port(), free_port()
    pair = leaf_pair_factory(topology, hub_extra=f"http_port: {hub_http}", leaf_extra=f"http_port: {leaf_http}")
    hub_nc = await nats.connect(pair.hub.url, allow_reconnect=False)
    leaf_nc = await nats.connect(pair.leaf.url, allow_reconnect=False)
    try:
        at_hub = await collect(hub_nc, "count.up")
        at_leaf = await collect(leaf_nc, "count.down")
        await await_interest(leaf_http, "count.up")
        await await_interest(hub_http, "count.down")
        for _ in range(PLAIN):
            await leaf_nc.publish("count.up", PAYLOAD)
        for _ in range(WITH_HEADERS):
            await leaf_nc.publish("count.up", PAYLOAD, headers=HEADERS)
        for _ in range(PLAIN):
            await hub_nc.publish("count.down", PAYLOAD)
        await leaf_nc.flush()
        await hub_nc.flush()
        await wait_count(at_hub, UP_MSGS)
        await wait_count(at_leaf, DOWN_MSGS)
    finally:
        await hub_nc.close()
        await leaf_nc.close()

    # Each side: the link carries one direction in and the other out, the local client the reverse.
    messages = UP_MSGS + DOWN_MSGS
    total = (messages, messages, UP_BYTES + DOWN_BYTES, UP_BYTES + DOWN_BYTES)
    link_counts = {
        "hub": (UP_MSGS, DOWN_MSGS, UP_BYTES, DOWN_BYTES),
        "leaf": (DOWN_MSGS, UP_MSGS, DOWN_BYTES, UP_BYTES),
    }
    ports = {"hub": hub_http, "leaf": leaf_http}
    for side, http_port in ports.items():
        varz = await poll_monitor(http_port, "/varz", lambda doc: counts(doc) == total and doc["connections"] == 0)
        assert counts(varz) == total, side
        assert (varz["leafnodes"], varz["connections"]) == (1, 0), side
        leafz = monitor_get(http_port, "/leafz")
        assert [counts(link) for link in leafz["leafs"]] == [link_counts[side]], side
        connz = monitor_get(http_port, "/connz?state=all")
        links = [c for c in connz["connections"] if c["kind"] == "Leafnode"]
        assert [counts(link) for link in links] == [link_counts[side]], side
        assert "type" not in links[0], side
        clients = [c for c in connz["connections"] if c["kind"] == "Client"]
        # Every client so far (ours and the test harness's readiness probe), never the link.
        assert varz["total_connections"] == len(clients), side
        in_msgs, out_msgs, in_bytes, out_bytes = link_counts[side]
        assert tuple(map(sum, zip(*map(counts, clients), strict=True))) == (out_msgs, in_msgs, out_bytes, in_bytes)

    # The other side stops: the link closes, and its counts stay in this side's totals.
    survivor = "leaf" if stopped == "hub" else "hub"
    (pair.hub if stopped == "hub" else pair.leaf).stop()
    http_port = ports[survivor]
    varz = await poll_monitor(http_port, "/varz", lambda doc: doc["leafnodes"] == 0)
    assert varz["leafnodes"] == 0
    assert counts(varz) == total
    assert monitor_get(http_port, "/leafz")["leafs"] == []
    connz = await poll_monitor(http_port, "/connz", lambda doc: doc["num_connections"] == 0)
    assert connz["connections"] == []
    closed = monitor_get(http_port, "/connz?state=closed")["connections"]
    assert [counts(c) for c in closed if c["kind"] == "Leafnode"] == [link_counts[survivor]]


async def test_requests_to_a_queue_group_across_the_link_are_counted_per_hop(leaf_pair_factory, topology):
    hub_http, leaf_http = free_port(), free_port()
    pair = leaf_pair_factory(topology, hub_extra=f"http_port: {hub_http}", leaf_extra=f"http_port: {leaf_http}")
    hub_nc = await nats.connect(pair.hub.url, allow_reconnect=False)
    leaf_nc = await nats.connect(pair.leaf.url, allow_reconnect=False)
    requests, request, reply = 5, b"q" * 7, b"r" * 11
    try:
        async def respond(msg) -> None:
            await msg.respond(reply)

        await leaf_nc.subscribe("svc", queue="workers", cb=respond)
        await subscribed(leaf_nc)
        await await_interest(hub_http, "svc")
        for _ in range(requests):
            assert (await hub_nc.request("svc", request, timeout=5)).data == reply
    finally:
        await hub_nc.close()
        await leaf_nc.close()

    # Requests go down the link to the only member, replies come back up: each counted once per hop.
    down = (requests, requests * len(request))
    up = (requests, requests * len(reply))
    total = (2 * requests, 2 * requests, down[1] + up[1], down[1] + up[1])
    link_counts = {
        hub_http: (up[0], down[0], up[1], down[1]),
        leaf_http: (down[0], up[0], down[1], up[1]),
    }
    for http_port, link in link_counts.items():
        varz = await poll_monitor(http_port, "/varz", lambda doc: counts(doc) == total)
        assert counts(varz) == total
        assert [counts(entry) for entry in monitor_get(http_port, "/leafz")["leafs"]] == [link]
