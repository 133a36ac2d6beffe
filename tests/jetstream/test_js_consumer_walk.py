"""A consumer walking a file stream gets every stored message once and in order, as on nats-server:
across the store's read-ahead windows (many small messages, and large ones that fill the byte budget
early), with messages deleted behind, inside and ahead of what it has been handed, a filter that skips
most of the stream, and a purge part way."""

from __future__ import annotations

from nats.js.api import AckPolicy, ConsumerConfig

LARGE = 100 * 1024


def body(index: int) -> bytes:
    # Every fifth message large: windows end by bytes as well as by count.
    size = LARGE if index % 5 == 0 else 12
    return f"{index:06d}".encode().ljust(size, b".")


async def fetch_all(subscription, batch: int) -> list:
    got = []
    while True:
        try:
            messages = await subscription.fetch(batch, timeout=0.5)
        except TimeoutError:
            return got
        for message in messages:
            await message.ack()
        got += messages


async def test_a_consumer_gets_every_stored_message_once_in_order_with_deletes_on_the_way(nc):
    js = nc.jetstream()
    await js.add_stream(name="WALK", subjects=["walk.>"])
    for index in range(1, 301):
        await js.publish(f"walk.{'odd' if index % 2 else 'even'}", body(index))
    deleted = {3, 64, 65, 66, 130, 250}
    for seq in (3, 64, 65):
        await js.delete_msg("WALK", seq)
    subscription = await js.pull_subscribe("walk.>", durable="WALKER",
                                           config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT))
    first = await subscription.fetch(40, timeout=2)
    for message in first:
        await message.ack()
    # Just ahead of what was handed out (inside a window fetched for it), and far ahead.
    for seq in (66, 130, 250):
        await js.delete_msg("WALK", seq)
    rest = await fetch_all(subscription, 37)
    sequences = [message.metadata.sequence.stream for message in first + rest]
    assert sequences == [seq for seq in range(1, 301) if seq not in deleted]
    assert all(message.data == body(message.metadata.sequence.stream) for message in first + rest)


async def test_a_filtered_consumer_and_a_purge_part_way(nc):
    js = nc.jetstream()
    await js.add_stream(name="SPARSE", subjects=["sparse.>"])
    for index in range(1, 401):
        await js.publish("sparse.rare" if index % 50 == 0 else "sparse.common", body(index))
    rare = await js.pull_subscribe("sparse.rare", durable="RARE")
    assert [m.metadata.sequence.stream for m in await fetch_all(rare, 3)] == list(range(50, 401, 50))
    common = await js.pull_subscribe("sparse.common", durable="COMMON")
    head = await common.fetch(100, timeout=2)
    for message in head:
        await message.ack()
    await js.purge_stream("SPARSE", seq=201)  # everything below 201 goes
    tail = await fetch_all(common, 64)
    expected_head = [seq for seq in range(1, 401) if seq % 50][:100]
    assert [m.metadata.sequence.stream for m in head] == expected_head
    assert [m.metadata.sequence.stream for m in tail] == [seq for seq in range(201, 401) if seq % 50]
    assert all(m.data == body(m.metadata.sequence.stream) for m in head + tail)


async def test_consumers_on_different_filters_taking_turns_each_get_theirs_in_order(nc):
    js = nc.jetstream()
    await js.add_stream(name="TURNS", subjects=["turns.>"])
    for index in range(1, 241):
        await js.publish(f"turns.{index % 3}", body(index))
    walkers = {name: await js.pull_subscribe(f"turns.{name}", durable=f"T{name}") for name in ("0", "1", "2")}
    got: dict[str, list[int]] = {name: [] for name in walkers}
    for _ in range(80 // 7 + 1):
        for name, subscription in walkers.items():
            for message in await subscription.fetch(7, timeout=2):
                await message.ack()
                assert message.data == body(message.metadata.sequence.stream)
                got[name].append(message.metadata.sequence.stream)
    assert got == {name: [seq for seq in range(1, 241) if seq % 3 == int(name)] for name in walkers}
