"""Push consumers through nats-py's `js.subscribe` on both servers: ephemeral and durable, auto and
manual acks, queue subscriptions sharing a deliver group, `push_bound` and the binding rules nats-py
applies from ConsumerInfo, headers_only, and deliveries only while the deliver subject has interest."""

from __future__ import annotations

import asyncio

import nats.js.errors
import pytest
from js_helpers import api, poll_until
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from subscribed import subscribed


@pytest.fixture
async def js(nc):
    js = nc.jetstream()
    await js.add_stream(name="PUSH", subjects=["push.>"])
    for index in range(3):
        await js.publish(f"push.s{index}", f"p{index}".encode())
    return js


async def collect(queue: asyncio.Queue, count: int, timeout: float = 3.0) -> list:
    return [await asyncio.wait_for(queue.get(), timeout) for _ in range(count)]


async def bound(nc, stream: str, name: str, expected: bool) -> bool:
    """Whether push_bound became `expected` (nats-server follows interest asynchronously)."""
    async def check():
        return (await api(nc, f"$JS.API.CONSUMER.INFO.{stream}.{name}")).get("push_bound", False) is expected

    return await poll_until(check, timeout=3)


async def test_ephemeral_subscribe_with_auto_ack(js):
    received: asyncio.Queue = asyncio.Queue()
    sub = await js.subscribe("push.>", cb=received.put)
    messages = await collect(received, 3)
    assert [(m.subject, m.data) for m in messages] == [("push.s0", b"p0"), ("push.s1", b"p1"), ("push.s2", b"p2")]
    assert [m.metadata.num_pending for m in messages] == [2, 1, 0]
    tokens = messages[0].reply.split(".")
    assert tokens[:3] == ["$JS", "ACK", "PUSH"] and len(tokens) == 9
    await js.publish("push.later", b"p3")
    [later] = await collect(received, 1)
    assert (later.subject, later.metadata.sequence.stream, later.metadata.sequence.consumer) == ("push.later", 4, 4)
    info = await sub.consumer_info()
    while info.num_ack_pending:  # auto acks are published after each callback returns
        info = await sub.consumer_info()
    assert (info.push_bound, info.ack_floor.stream_seq, info.num_pending, info.config.inactive_threshold) == (
        True, 4, 0, 5.0)
    await sub.unsubscribe()


async def test_durable_manual_ack_and_rebind(nc, js):
    received: asyncio.Queue = asyncio.Queue()
    sub = await js.subscribe("push.>", durable="PD", cb=received.put, manual_ack=True)
    first, second, third = await collect(received, 3)
    await first.ack_sync()
    await third.ack_sync()
    info = await js.consumer_info("PUSH", "PD")
    assert (info.num_ack_pending, info.ack_floor.stream_seq, info.push_bound) == (1, 1, True)
    with pytest.raises(nats.js.errors.Error, match="already bound"):
        await js.subscribe("push.>", durable="PD")
    await sub.unsubscribe()
    assert await bound(nc, "PUSH", "PD", False)
    await js.publish("push.s3", b"p3")
    again: asyncio.Queue = asyncio.Queue()
    sub = await js.subscribe("push.>", durable="PD", cb=again.put, manual_ack=True)
    [fresh] = await collect(again, 1)
    assert (fresh.data, fresh.metadata.sequence.stream) == (b"p3", 4)
    await fresh.ack_sync()
    await second.ack_sync()
    info = await js.consumer_info("PUSH", "PD")
    assert (info.num_ack_pending, info.ack_floor.stream_seq, info.delivered.stream_seq) == (0, 4, 4)
    await sub.unsubscribe()


async def test_queue_subscribers_share_the_deliveries(nc, js):
    first: asyncio.Queue = asyncio.Queue()
    second: asyncio.Queue = asyncio.Queue()
    sub1 = await js.subscribe("push.>", queue="workers", cb=first.put)
    assert await bound(nc, "PUSH", "workers", True)
    info = await js.consumer_info("PUSH", "workers")
    assert (info.config.deliver_group, info.config.durable_name) == ("workers", "workers")
    sub2 = await js.subscribe("push.>", queue="workers", cb=second.put)
    await collect(first, 3)  # bound before the second member joined: the backlog went to the first
    for index in range(40):
        await js.publish(f"push.q{index}", b"q")
    got = first.qsize() + second.qsize()
    while got < 40:
        await asyncio.sleep(0.02)
        got = first.qsize() + second.qsize()
    assert got == 40 and first.qsize() > 0 and second.qsize() > 0
    with pytest.raises(nats.js.errors.Error, match="deliver group"):
        await js.subscribe("push.>", durable="workers")
    await sub1.unsubscribe()
    await sub2.unsubscribe()


async def test_headers_only_delivers_the_size_and_no_body(js):
    await js.publish("push.h", b"12345", headers={"X-Kind": "h"})
    sub = await js.subscribe("push.>", headers_only=True, config=ConsumerConfig(ack_policy=AckPolicy.NONE))
    plain = await sub.next_msg(timeout=3)
    assert (plain.data, plain.headers) == (b"", {"Nats-Msg-Size": "2"})
    await sub.next_msg(timeout=3)
    await sub.next_msg(timeout=3)
    with_headers = await sub.next_msg(timeout=3)
    assert (with_headers.data, with_headers.headers) == (b"", {"X-Kind": "h", "Nats-Msg-Size": "5"})
    await sub.unsubscribe()


async def test_nothing_is_delivered_without_interest(nc, js):
    created = await api(nc, "$JS.API.CONSUMER.DURABLE.CREATE.PUSH.LATE", {
        "stream_name": "PUSH", "config": {"durable_name": "LATE", "deliver_subject": "late.inbox",
                                          "ack_policy": "explicit", "deliver_policy": "all"}})
    assert "push_bound" not in created and created["delivered"]["stream_seq"] == 0
    await js.publish("push.s3", b"p3")
    # nats-server counts a stored message into its consumers' pending a moment after the PubAck.
    async with asyncio.timeout(5):
        while (info := await api(nc, "$JS.API.CONSUMER.INFO.PUSH.LATE"))["num_pending"] < 4:
            await asyncio.sleep(0.02)
    assert (info["num_pending"], info["delivered"]["stream_seq"], info["num_waiting"]) == (4, 0, 0)
    sub = await nc.subscribe("late.inbox")
    messages = [await sub.next_msg(timeout=3) for _ in range(4)]
    assert [m.subject for m in messages] == ["push.s0", "push.s1", "push.s2", "push.s3"]
    assert await bound(nc, "PUSH", "LATE", True)
    pulled = await nc.request("$JS.API.CONSUMER.MSG.NEXT.PUSH.LATE", b"", timeout=2)
    assert (pulled.headers.get("Status"), pulled.headers.get("Description")) == ("409", "Consumer is push based")
    await sub.unsubscribe()


async def test_interest_is_a_subscription_on_exactly_the_deliver_subject(nc, js):
    await api(nc, "$JS.API.CONSUMER.DURABLE.CREATE.PUSH.WILD", {
        "stream_name": "PUSH", "config": {"durable_name": "WILD", "deliver_subject": "wild.inbox.1"}})
    await api(nc, "$JS.API.CONSUMER.DURABLE.CREATE.PUSH.GROUP", {
        "stream_name": "PUSH", "config": {"durable_name": "GROUP", "deliver_subject": "group.inbox",
                                          "deliver_group": "g"}})
    # Neither a wildcard nor a queue member counts for a consumer without a group, nor a plain
    # subscriber (or another group) for one with a group: nothing is sent, nothing is lost.
    wildcard = await nc.subscribe("wild.*.1")
    queued = await nc.subscribe("wild.inbox.1", queue="q")
    plain = await nc.subscribe("group.inbox")
    other = await nc.subscribe("group.inbox", queue="other")
    await subscribed(nc)
    for name in ("WILD", "GROUP"):
        info = await api(nc, f"$JS.API.CONSUMER.INFO.PUSH.{name}")
        assert ("push_bound" in info, info["delivered"]["stream_seq"]) == (False, 0), name
    exact = await nc.subscribe("wild.inbox.1")
    assert [(await exact.next_msg(timeout=3)).subject for _ in range(3)] == ["push.s0", "push.s1", "push.s2"]
    member = await nc.subscribe("group.inbox", queue="g")
    assert [(await member.next_msg(timeout=3)).subject for _ in range(3)] == ["push.s0", "push.s1", "push.s2"]
    assert await bound(nc, "PUSH", "GROUP", True)
    await member.unsubscribe()
    assert await bound(nc, "PUSH", "GROUP", False)
    for sub in (wildcard, queued, plain, other, exact):
        await sub.unsubscribe()


async def test_deliver_policies_on_push(js):
    sub = await js.subscribe("push.>", config=ConsumerConfig(deliver_policy=DeliverPolicy.NEW))
    await js.publish("push.n", b"n")
    assert (await sub.next_msg(timeout=3)).data == b"n"
    await sub.unsubscribe()
    for policy, extra, expected in ((DeliverPolicy.LAST, {}, [b"n"]),
                                    (DeliverPolicy.BY_START_SEQUENCE, {"opt_start_seq": 2}, [b"p1", b"p2", b"n"]),
                                    (DeliverPolicy.ALL, {}, [b"p0", b"p1", b"p2", b"n"])):
        sub = await js.subscribe("push.>", config=ConsumerConfig(deliver_policy=policy, **extra))
        assert [(await sub.next_msg(timeout=3)).data for _ in expected] == expected, policy
        await sub.unsubscribe()
