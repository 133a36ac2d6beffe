"""Publishes in flight together (one connection, no waiting between them) share commits on edgenats, and
still behave one by one as on nats-server: every check sees the stream as the publish before it left
it (an expected last sequence right after a burst, a msg id repeated inside a burst, discard-new limits
reached inside a burst, rollups inside a burst, an interest stream dropping each message once answered), and
the acks carry consecutive sequences in publish order."""

from __future__ import annotations

import asyncio
import json

from js_helpers import api

BURST = 200


async def burst(nc, subject: str, count: int, headers_for=lambda index: None, flush_every: int = 0) -> list[dict]:
    """`count` publishes written back to back on one connection (with `flush_every`, a PING round trip
    after every so many: the server has read those before the next arrive); their PubAcks in publish order."""
    inbox = nc.new_inbox()
    answers: dict[int, bytes] = {}
    done = asyncio.get_running_loop().create_future()

    async def collect(message) -> None:
        answers[int(message.subject.rsplit(".", 1)[1])] = message.data
        if len(answers) == count and not done.done():
            done.set_result(None)

    subscription = await nc.subscribe(inbox + ".*", cb=collect)
    for index in range(count):
        await nc.publish(subject, b"m%d" % index, reply=f"{inbox}.{index}", headers=headers_for(index))
        if flush_every and index % flush_every == flush_every - 1:
            await nc.flush()
    await asyncio.wait_for(done, timeout=5)
    await subscription.unsubscribe()
    return [json.loads(answers[index]) for index in range(count)]


async def test_a_burst_is_acked_with_consecutive_sequences_in_publish_order(js_server, nc):
    await nc.jetstream().add_stream(name="BURST", subjects=["burst"])

    acks = await burst(nc, "burst", BURST)

    assert [ack["seq"] for ack in acks] == list(range(1, BURST + 1))
    info = await api(nc, "$JS.API.STREAM.INFO.BURST")
    assert (info["state"]["messages"], info["state"]["last_seq"]) == (BURST, BURST)


async def test_an_expected_last_sequence_right_after_a_burst_sees_the_whole_burst(js_server, nc):
    js = nc.jetstream()
    await js.add_stream(name="EXPECT", subjects=["expect"])

    def headers_for(index: int) -> dict | None:
        return {"Nats-Expected-Last-Sequence": str(index)} if index in (BURST - 2, BURST - 1) else None

    acks = await burst(nc, "expect", BURST, headers_for)

    # The publish at index i follows i stored messages, so expecting last sequence i holds.
    assert acks[-2] == {"stream": "EXPECT", "seq": BURST - 1}
    assert acks[-1] == {"stream": "EXPECT", "seq": BURST}


async def test_a_msg_id_repeated_inside_a_burst_is_stored_once(js_server, nc):
    await nc.jetstream().add_stream(name="DEDUPE", subjects=["dedupe"])

    acks = await burst(nc, "dedupe", 20, lambda index: {"Nats-Msg-Id": f"id-{index % 10}"})

    assert [ack["seq"] for ack in acks] == list(range(1, 11)) * 2
    assert [ack.get("duplicate", False) for ack in acks] == [False] * 10 + [True] * 10
    info = await api(nc, "$JS.API.STREAM.INFO.DEDUPE")
    assert info["state"]["messages"] == 10


async def test_msg_ids_repeated_while_earlier_commits_are_in_flight_are_stored_once(js_server, nc):
    await nc.jetstream().add_stream(name="WAVES", subjects=["waves"])
    count = 600

    def headers_for(index: int) -> dict | None:
        return {"Nats-Msg-Id": f"id-{index % 150}"} if index % 2 == 0 else None

    acks = await burst(nc, "waves", count, headers_for)

    expected, first_seq, seq = [], {}, 0
    for index in range(count):
        msg_id = f"id-{index % 150}" if index % 2 == 0 else None
        if msg_id in first_seq:
            expected.append({"stream": "WAVES", "seq": first_seq[msg_id], "duplicate": True})
            continue
        seq += 1
        expected.append({"stream": "WAVES", "seq": seq})
        if msg_id is not None:
            first_seq[msg_id] = seq
    assert acks == expected
    info = await api(nc, "$JS.API.STREAM.INFO.WAVES")
    assert info["state"]["messages"] == seq


async def test_discard_new_limits_are_reached_inside_a_burst_exactly(js_server, nc):
    await nc.jetstream().add_stream(name="ROOM", subjects=["room"], max_msgs=50, discard="new")

    acks = await burst(nc, "room", 60)

    assert [ack.get("seq") for ack in acks[:50]] == list(range(1, 51))
    assert all(ack["error"]["err_code"] == 10077 for ack in acks[50:]), acks[50]
    info = await api(nc, "$JS.API.STREAM.INFO.ROOM")
    assert info["state"]["messages"] == 50


async def test_rollups_inside_a_burst_purge_up_to_themselves_and_acks_stay_in_order(js_server, nc):
    await nc.jetstream().add_stream(name="ROLL", subjects=["roll"], allow_rollup_hdrs=True)

    # Every 50th publish rolls the subject up while the publishes behind it are being stored.
    acks = await burst(nc, "roll", 300, lambda index: {"Nats-Rollup": "sub"} if index % 50 == 0 else None)

    assert [ack["seq"] for ack in acks] == list(range(1, 301))
    state = (await api(nc, "$JS.API.STREAM.INFO.ROLL"))["state"]
    assert (state["messages"], state["first_seq"], state["last_seq"]) == (50, 251, 300)


async def test_a_burst_into_an_interest_stream_without_consumers_is_acked_in_order_and_dropped(js_server, nc):
    # Each stored message is deleted as soon as it is answered (nobody is interested): the delete
    # commits the appends read after its own (usually in the next batch) while its batch is answered.
    await nc.jetstream().add_stream(name="NOBODY", subjects=["nobody"], retention="interest")

    acks = await burst(nc, "nobody", 300, flush_every=50)

    assert [ack["seq"] for ack in acks] == list(range(1, 301))
    state = (await api(nc, "$JS.API.STREAM.INFO.NOBODY"))["state"]
    assert (state["messages"], state["first_seq"], state["last_seq"]) == (0, 301, 300)
