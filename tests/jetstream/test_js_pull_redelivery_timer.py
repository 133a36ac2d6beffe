"""Redelivery deadlines of a pull consumer when acks arrive out of order: an acked message's deadline
does not hold back the others, a NAK delay shorter than ack_wait comes first, what is left unacked
comes back in stream order with its delivery count, and ConsumerInfo counts only what is pending;
acks keep a pull consumer with an inactive_threshold alive."""

from __future__ import annotations

import asyncio
import time

import nats.js.errors
import pytest
from js_helpers import poll_until
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy


@pytest.fixture
async def js(nc):
    js = nc.jetstream()
    await js.add_stream(name="TIMER", subjects=["timer.>"])
    for index in range(40):
        await js.publish(f"timer.{index}", f"m{index}".encode())
    return js


async def _pull(js, durable: str, ack_wait: float, start: int = 1):
    await js.add_consumer("TIMER", ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT,
                                                  ack_wait=ack_wait, deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                                                  opt_start_seq=start))
    return await js.pull_subscribe_bind(durable, "TIMER")


async def test_unacked_messages_come_back_in_stream_order_after_the_first_was_acked(js):
    sub = await _pull(js, "GAPS", ack_wait=0.4)
    first = await sub.fetch(40, timeout=2)
    assert len(first) == 40
    kept = {5, 17, 33}  # stream seqs left unacked; the lowest (1) is acked, so its deadline is passed over
    for message in first:
        if message.metadata.sequence.stream not in kept:
            await message.ack_sync()
    info = await js.consumer_info("TIMER", "GAPS")
    assert (info.num_ack_pending, info.ack_floor.stream_seq) == (3, 4)
    again = []  # the three may fall due a moment apart: a fetch returns what is due when it asks
    while len(again) < 3:
        again += await sub.fetch(3 - len(again), timeout=2)
    assert [(m.metadata.sequence.stream, m.metadata.num_delivered, m.data) for m in again] == [
        (5, 2, b"m4"), (17, 2, b"m16"), (33, 2, b"m32")]
    for message in again:
        await message.ack_sync()
    info = await js.consumer_info("TIMER", "GAPS")
    assert (info.num_ack_pending, info.ack_floor.stream_seq, info.num_redelivered) == (0, 40, 0)


async def test_nak_delay_shorter_than_ack_wait_redelivers_first(js):
    sub = await _pull(js, "NAKS", ack_wait=10, start=39)  # the last two messages
    one, two = await sub.fetch(2, timeout=2)
    started = time.monotonic()
    await two.nak(delay=0.2)
    [back] = await sub.fetch(1, timeout=3)
    assert (back.metadata.sequence.stream, back.metadata.num_delivered) == (40, 2)
    assert time.monotonic() - started < 5  # long before the 10 s ack_wait of the first message
    info = await js.consumer_info("TIMER", "NAKS")
    assert (info.num_ack_pending, info.num_redelivered, info.delivered.consumer_seq) == (2, 1, 3)
    await one.ack_sync()
    await back.ack_sync()
    info = await js.consumer_info("TIMER", "NAKS")
    assert (info.num_ack_pending, info.ack_floor.stream_seq) == (0, 40)


async def test_acks_keep_an_idle_pull_consumer_alive_until_they_stop(js):
    """Each ack restarts the inactivity clock; once acks stop, the consumer goes after the threshold."""
    await js.add_consumer("TIMER", ConsumerConfig(durable_name="IDLE", ack_policy=AckPolicy.EXPLICIT,
                                                  inactive_threshold=0.5))
    sub = await js.pull_subscribe_bind("IDLE", "TIMER")
    messages = await sub.fetch(4, timeout=2)
    started = time.monotonic()
    for message in messages:  # 0.8 s of acks, each well within the threshold of the previous one
        await asyncio.sleep(0.2)
        await message.ack_sync()
    assert time.monotonic() - started > 0.75
    info = await js.consumer_info("TIMER", "IDLE")
    assert info.ack_floor.stream_seq == 4

    async def gone():
        try:
            await js.consumer_info("TIMER", "IDLE")
        except nats.js.errors.NotFoundError:
            return True
        return False

    assert await poll_until(gone, timeout=4)
