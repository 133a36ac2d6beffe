"""Push consumers' delivery rules on both servers: backoff redelivery delays by delivery count and
max_deliver, max_ack_pending holding new deliveries back, replay_policy original keeping the stored
gaps, deliver by_start_time, and ephemerals removed after inactive_threshold without interest."""

from __future__ import annotations

import asyncio
import datetime
import time

import nats.errors
import pytest
from js_helpers import api, poll_until
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, ReplayPolicy


@pytest.fixture
async def js(nc):
    js = nc.jetstream()
    await js.add_stream(name="RD", subjects=["rd.>"])
    return js


async def test_backoff_spaces_redeliveries_and_max_deliver_ends_them(js):
    await js.publish("rd.one", b"once")
    sub = await js.subscribe("rd.>", config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, backoff=[0.2, 0.5],
                                                           max_deliver=3))
    arrivals = []
    for _ in range(3):
        message = await sub.next_msg(timeout=3)
        arrivals.append((time.monotonic(), message.metadata.num_delivered, message.metadata.sequence.consumer))
    assert [(count, cseq) for _, count, cseq in arrivals] == [(1, 1), (2, 2), (3, 3)]
    assert arrivals[1][0] - arrivals[0][0] >= 0.18
    assert arrivals[2][0] - arrivals[1][0] >= 0.45
    with pytest.raises(nats.errors.TimeoutError):
        await sub.next_msg(timeout=0.8)
    info = await sub.consumer_info()
    assert (info.config.ack_wait, info.config.backoff, info.num_redelivered) == (0.2, [0.2, 0.5], 1)
    await sub.unsubscribe()


async def test_nak_with_a_delay_in_either_form(nc, js):
    await js.publish("rd.nak", b"n")
    sub = await js.subscribe("rd.>", config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT))
    first = await sub.next_msg(timeout=3)
    naked = time.monotonic()
    await first.nak(delay=0.3)  # {"delay": ns}
    second = await sub.next_msg(timeout=3)
    assert second.metadata.num_delivered == 2 and time.monotonic() - naked >= 0.25
    naked = time.monotonic()
    await nc.publish(second.reply, b"-NAK 300ms")  # a Go duration
    third = await sub.next_msg(timeout=3)
    assert third.metadata.num_delivered == 3 and time.monotonic() - naked >= 0.25
    await sub.unsubscribe()


async def test_max_ack_pending_holds_new_deliveries(js):
    for index in range(4):
        await js.publish(f"rd.{index}", str(index).encode())
    sub = await js.subscribe("rd.>", config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, max_ack_pending=2))
    first = await sub.next_msg(timeout=3)
    await sub.next_msg(timeout=3)
    with pytest.raises(nats.errors.TimeoutError):
        await sub.next_msg(timeout=0.3)
    await first.ack()
    third = await sub.next_msg(timeout=3)
    assert third.data == b"2"
    info = await sub.consumer_info()
    assert (info.num_ack_pending, info.num_pending) == (2, 1)
    await sub.unsubscribe()


async def test_replay_original_keeps_the_stored_gaps(js):
    for index in range(3):
        if index:
            await asyncio.sleep(0.25)
        await js.publish("rd.replay", str(index).encode())
    sub = await js.subscribe("rd.>", config=ConsumerConfig(ack_policy=AckPolicy.NONE,
                                                           replay_policy=ReplayPolicy.ORIGINAL))
    arrivals = []
    for _ in range(3):
        await sub.next_msg(timeout=3)
        arrivals.append(time.monotonic())
    assert arrivals[1] - arrivals[0] >= 0.2 and arrivals[2] - arrivals[1] >= 0.2
    await js.publish("rd.replay", b"live")
    started = time.monotonic()
    assert (await sub.next_msg(timeout=3)).data == b"live"
    assert time.monotonic() - started < 0.2  # caught up: new messages go at once
    await sub.unsubscribe()


async def test_deliver_by_start_time(js):
    await js.publish("rd.old", b"old")
    await asyncio.sleep(0.05)
    start = datetime.datetime.now(datetime.UTC)
    await asyncio.sleep(0.05)
    await js.publish("rd.new", b"new")
    sub = await js.subscribe("rd.>", config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME,
                                                           opt_start_time=start))
    message = await sub.next_msg(timeout=3)
    assert (message.data, message.metadata.sequence.stream, message.metadata.num_pending) == (b"new", 2, 0)
    info = await sub.consumer_info()
    assert info.config.deliver_policy == DeliverPolicy.BY_START_TIME
    await sub.unsubscribe()


async def test_ephemeral_push_consumer_goes_after_inactive_threshold_without_interest(nc, js):
    sub = await js.subscribe("rd.>", inactive_threshold=0.3)
    name = (await sub.consumer_info()).name
    await js.publish("rd.x", b"x")
    await sub.next_msg(timeout=3)
    await asyncio.sleep(0.6)  # twice the threshold, bound all along: it stays
    assert (await api(nc, f"$JS.API.CONSUMER.INFO.RD.{name}"))["name"] == name
    await sub.unsubscribe()

    async def gone():
        return (await api(nc, "$JS.API.CONSUMER.NAMES.RD"))["total"] == 0

    assert await poll_until(gone, timeout=5)
