"""Leaf-node interop with nats-py clients on both sides (spec §15): messages, headers, request/reply,
no-responders, queue groups spanning the link, mass interest, and a hub restart.

Every test runs on every topology of conftest.TOPOLOGIES except the 2.9 hub (see test_old_hub.py);
the `reference` topology (two real nats-servers) proves each expectation.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import nats
import pytest
from leaf_helpers import (
    hub_config,
    leaf_config,
    request_until_answered,
    wait_count,
    wait_for_interest,
    wait_for_no_interest,
)
from nats.errors import NoRespondersError
from servers import free_port


async def collect(nc, subject: str, queue: str = ""):
    received: list = []

    async def append(msg) -> None:
        received.append(msg)

    subscription = await nc.subscribe(subject, queue=queue, cb=append)
    return subscription, received


@pytest.mark.parametrize("direction", ["hub-to-leaf", "leaf-to-hub"])
async def test_messages_cross_the_link(clients, direction):
    pair, hub_nc, leaf_nc = clients
    publisher, subscriber = (hub_nc, leaf_nc) if direction == "hub-to-leaf" else (leaf_nc, hub_nc)
    _, received = await collect(subscriber, "orders.*")
    await wait_for_interest(subscriber, publisher)
    for index in range(20):
        await publisher.publish(f"orders.{index}", b"payload-%d" % index)
    await wait_count(received, 20)
    await asyncio.sleep(0)
    assert [(msg.subject, msg.data) for msg in received] == [
        (f"orders.{index}", b"payload-%d" % index) for index in range(20)
    ]


@pytest.mark.parametrize("direction", ["hub-to-leaf", "leaf-to-hub"])
async def test_headers_and_reply_subject_arrive_intact(clients, direction):
    pair, hub_nc, leaf_nc = clients
    publisher, subscriber = (hub_nc, leaf_nc) if direction == "hub-to-leaf" else (leaf_nc, hub_nc)
    _, received = await collect(subscriber, "with.headers")
    await wait_for_interest(subscriber, publisher)
    await publisher.publish("with.headers", b"body", reply="my.reply", headers={"X-Site": "pi-7", "X-N": "1"})
    await publisher.publish("with.headers", b"", headers={"Only": "headers"})
    await wait_count(received, 2)
    first, second = received
    assert (first.data, first.reply, first.headers) == (b"body", "my.reply", {"X-Site": "pi-7", "X-N": "1"})
    assert (second.data, second.headers) == (b"", {"Only": "headers"})


@pytest.mark.parametrize("direction", ["hub-to-leaf", "leaf-to-hub"])
async def test_request_reply_across_the_link(clients, direction):
    pair, hub_nc, leaf_nc = clients
    requester, responder = (hub_nc, leaf_nc) if direction == "hub-to-leaf" else (leaf_nc, hub_nc)

    async def double(msg):
        headers = {"Served-By": "far side"} if msg.headers else None
        await responder.publish(msg.reply, msg.data * 2, headers=headers)

    await responder.subscribe("svc.double", cb=double)
    reply = await request_until_answered(requester, "svc.double", payload=b"ab")
    assert reply.data == b"abab"
    replies = await asyncio.gather(*(requester.request("svc.double", b"%d" % i, timeout=5) for i in range(50)))
    assert [msg.data for msg in replies] == [b"%d" % i * 2 for i in range(50)]
    with_headers = await requester.request("svc.double", b"h", timeout=5, headers={"Ask": "1"})
    assert (with_headers.data, with_headers.headers) == (b"hh", {"Served-By": "far side"})


@pytest.mark.parametrize("side", ["hub", "leaf"])
async def test_no_responders_anywhere_gives_503(clients, side):
    pair, hub_nc, leaf_nc = clients
    requester = hub_nc if side == "hub" else leaf_nc
    with pytest.raises(NoRespondersError):
        await requester.request("nobody.serves.this", b"?", timeout=5)


@pytest.mark.parametrize("side", ["hub", "leaf"])
async def test_no_responders_after_the_far_responder_leaves(clients, side):
    pair, hub_nc, leaf_nc = clients
    requester, responder = (hub_nc, leaf_nc) if side == "hub" else (leaf_nc, hub_nc)

    async def answer(msg):
        await msg.respond(b"here")

    subscription = await responder.subscribe("svc.leaving", cb=answer)
    assert (await request_until_answered(requester, "svc.leaving")).data == b"here"
    await subscription.unsubscribe()
    await wait_for_no_interest(requester, "svc.leaving")
    with pytest.raises(NoRespondersError):
        await requester.request("svc.leaving", b"?", timeout=5)


@pytest.mark.parametrize("publisher_side", ["hub", "leaf"])
async def test_queue_group_spanning_both_sides_delivers_each_message_once(clients, publisher_side):
    pair, hub_nc, leaf_nc = clients
    _, hub_received = await collect(hub_nc, "jobs.>", queue="workers")
    _, hub_received_2 = await collect(hub_nc, "jobs.>", queue="workers")
    _, leaf_received = await collect(leaf_nc, "jobs.>", queue="workers")
    await wait_for_interest(hub_nc, leaf_nc)
    await wait_for_interest(leaf_nc, hub_nc)
    publisher = hub_nc if publisher_side == "hub" else leaf_nc
    for index in range(200):
        await publisher.publish(f"jobs.{index}", b"%d" % index)
    await publisher.flush()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while len(hub_received) + len(hub_received_2) + len(leaf_received) < 200 and loop.time() < deadline:
        await asyncio.sleep(0.01)
    # Nothing more may come: a fence through the far side orders after every delivery.
    await wait_for_interest(hub_nc, leaf_nc)
    await wait_for_interest(leaf_nc, hub_nc)
    counts = Counter(msg.data for msg in hub_received + hub_received_2 + leaf_received)
    assert counts == Counter(b"%d" % index for index in range(200))
    # nats-server prefers queue members on the publisher's own server.
    local, remote = (hub_received + hub_received_2, leaf_received) if publisher_side == "hub" else \
        (leaf_received, hub_received + hub_received_2)
    assert (len(local), len(remote)) == (200, 0)


@pytest.mark.parametrize("publisher_side", ["hub", "leaf"])
async def test_queue_group_only_on_the_far_side_gets_every_message_once(clients, publisher_side):
    pair, hub_nc, leaf_nc = clients
    publisher, far = (hub_nc, leaf_nc) if publisher_side == "hub" else (leaf_nc, hub_nc)
    _, first = await collect(far, "work.items", queue="crew")
    _, second = await collect(far, "work.items", queue="crew")
    _, plain = await collect(far, "work.items")
    await wait_for_interest(far, publisher)
    for index in range(100):
        await publisher.publish("work.items", b"%d" % index)
    await wait_count(plain, 100)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while len(first) + len(second) < 100 and loop.time() < deadline:
        await asyncio.sleep(0.01)
    await wait_for_interest(far, publisher)
    assert Counter(msg.data for msg in first + second) == Counter(b"%d" % index for index in range(100))
    assert [msg.data for msg in plain] == [b"%d" % index for index in range(100)]


async def test_queue_members_leaving_the_near_side_move_delivery_across(clients):
    pair, hub_nc, leaf_nc = clients
    near_subscription, near = await collect(hub_nc, "tasks", queue="q")
    _, far = await collect(leaf_nc, "tasks", queue="q")
    await wait_for_interest(leaf_nc, hub_nc)
    for index in range(10):
        await hub_nc.publish("tasks", b"%d" % index)
    await wait_count(near, 10)
    await near_subscription.unsubscribe()
    await hub_nc.flush()
    for index in range(10, 20):
        await hub_nc.publish("tasks", b"%d" % index)
    await wait_count(far, 10)
    assert [msg.data for msg in far] == [b"%d" % index for index in range(10, 20)]
    assert len(near) == 10


async def test_ten_thousand_subscriptions_propagate(clients):
    pair, hub_nc, leaf_nc = clients
    received: list = []

    async def count(msg):
        received.append(msg.subject)

    for index in range(10_000):
        await leaf_nc.subscribe(f"device.{index}.state", cb=count)
    await wait_for_interest(leaf_nc, hub_nc, timeout=60)
    for index in range(10_000):
        await hub_nc.publish(f"device.{index}.state", b"x")
    await hub_nc.flush()
    await wait_count(received, 10_000, timeout=60)
    await wait_for_interest(leaf_nc, hub_nc)
    assert sorted(received) == sorted(f"device.{index}.state" for index in range(10_000))


async def test_hub_restart_restores_interest_without_duplicates(clients):
    pair, hub_nc, leaf_nc = clients
    _, at_leaf = await collect(leaf_nc, "after.restart")
    _, at_hub = await collect(hub_nc, "from.leaf")
    await wait_for_interest(leaf_nc, hub_nc)
    pair.hub.stop()
    pair.start_hub()
    # Both clients reconnect by themselves; the leaf redials the hub and re-sends its interest.
    await wait_for_interest(leaf_nc, hub_nc, timeout=30)
    await wait_for_interest(hub_nc, leaf_nc, timeout=30)
    for index in range(50):
        await hub_nc.publish("after.restart", b"%d" % index)
        await leaf_nc.publish("from.leaf", b"%d" % index)
    await wait_count(at_leaf, 50)
    await wait_count(at_hub, 50)
    await wait_for_interest(leaf_nc, hub_nc)
    await wait_for_interest(hub_nc, leaf_nc)
    assert [msg.data for msg in at_leaf] == [b"%d" % index for index in range(50)]
    assert [msg.data for msg in at_hub] == [b"%d" % index for index in range(50)]


@pytest.mark.parametrize("hub_kind", ["edgenats", "nats-server"])
async def test_two_leafs_talk_through_the_hub(server_factory, hub_kind):
    """A hub passes interest and messages between its leafs (spec §15.1), queue groups included."""
    leaf_port = free_port()
    server_factory(hub_kind, config=hub_config("hub2", leaf_port))
    leaves = [server_factory("nats-server", config=leaf_config(f"site{index}",
                                                               f'url: "nats-leaf://127.0.0.1:{leaf_port}"'))
              for index in (1, 2)]
    first, second = [await nats.connect(leaf.url) for leaf in leaves]
    try:
        _, plain = await collect(second, "site.events")
        _, queued = await collect(second, "site.jobs", queue="crew")

        async def answer(msg):
            await msg.respond(b"from site2")

        await second.subscribe("site.svc", cb=answer)
        assert (await request_until_answered(first, "site.svc")).data == b"from site2"
        for index in range(20):
            await first.publish("site.events", b"%d" % index)
            await first.publish("site.jobs", b"%d" % index)
        await wait_count(plain, 20)
        await wait_count(queued, 20)
        assert [msg.data for msg in plain] == [b"%d" % index for index in range(20)]
        assert [msg.data for msg in queued] == [b"%d" % index for index in range(20)]
    finally:
        await first.close()
        await second.close()


@pytest.mark.parametrize("leaf_kind", ["edgenats", "nats-server"])
async def test_a_remote_binds_one_local_account(server_factory, leaf_kind):
    """`account` on a remote: only that local account's clients are joined to the hub (spec §15.1)."""
    leaf_port = free_port()
    hub = server_factory("nats-server", config=hub_config("hub3", leaf_port))
    accounts = ("accounts { EDGE: { users: [ { user: e, password: e } ] }, "
                "OTHER: { users: [ { user: o, password: o } ] } }")
    leaf = server_factory(leaf_kind, config=leaf_config(
        "site3", f'url: "nats-leaf://127.0.0.1:{leaf_port}", account: EDGE', accounts))
    hub_nc = await nats.connect(hub.url)
    edge_nc = await nats.connect(leaf.url, user="e", password="e")
    other_nc = await nats.connect(leaf.url, user="o", password="o")
    try:
        _, at_edge = await collect(edge_nc, "acct.test")
        _, at_other = await collect(other_nc, "acct.test")
        await wait_for_interest(edge_nc, hub_nc)
        await hub_nc.publish("acct.test", b"to EDGE")
        await wait_count(at_edge, 1)

        async def answer(msg):
            await msg.respond(b"hub")

        await hub_nc.subscribe("svc.hub", cb=answer)
        assert (await request_until_answered(edge_nc, "svc.hub")).data == b"hub"
        with pytest.raises(NoRespondersError):
            await other_nc.request("svc.hub", b"", timeout=5)
        assert [msg.data for msg in at_edge] == [b"to EDGE"]
        assert at_other == []
    finally:
        for nc in (hub_nc, edge_nc, other_nc):
            await nc.close()
