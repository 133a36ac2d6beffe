"""Publishing into streams, against edgenats and nats-server alike: PubAcks, Nats-Msg-Id
de-duplication, the Nats-Expected-* checks in the reference order, limits (max_msgs, max_bytes,
per subject, max_msg_size, discard old/new), max_age expiry, and the errors nats-py raises."""

from __future__ import annotations

import json

import nats.errors
import nats.js.errors
import pytest
from js_helpers import api, poll_until


async def test_publish_acks_with_stream_and_sequence(nc):
    js = nc.jetstream()
    await js.add_stream(name="ORDERS", subjects=["orders.>"])
    first = await js.publish("orders.new", b"hello")
    second = await js.publish("orders.new", b"again", headers={"X-Any": "1"})
    assert (first.stream, first.seq, second.seq) == ("ORDERS", 1, 2)
    raw = await nc.request("orders.raw", b"raw")
    assert json.loads(raw.data) == {"stream": "ORDERS", "seq": 3}
    await nc.publish("orders.noreply", b"stored without ack")
    # A stream stores in arrival order: once a later publish is acked, the earlier one is stored.
    assert (await js.publish("orders.after", b"")).seq == 5
    last = await js.get_last_msg("ORDERS", "orders.noreply")
    assert (last.seq, last.data) == (4, b"stored without ack")


async def test_no_stream_is_a_no_responders_error(nc):
    with pytest.raises(nats.js.errors.NoStreamResponseError):
        await nc.jetstream().publish("nostream.x", b"x")


async def test_msg_id_duplicates_are_acked_with_the_original_sequence(nc):
    js = nc.jetstream()
    await js.add_stream(name="DEDUP", subjects=["dedup.*"])
    first = await js.publish("dedup.a", b"1", headers={"Nats-Msg-Id": "id-1"})
    again = await js.publish("dedup.b", b"2", headers={"Nats-Msg-Id": "id-1"})
    assert (first.seq, first.duplicate, again.seq, again.duplicate) == (1, None, 1, True)
    raw = await nc.request("dedup.c", b"3", headers={"Nats-Msg-Id": "id-1"})
    assert raw.data == b'{"stream":"DEDUP","seq":1,"duplicate": true}'
    assert (await js.stream_info("DEDUP")).state.messages == 1
    stored = await js.get_msg("DEDUP", 1)
    assert stored.headers == {"Nats-Msg-Id": "id-1"}


async def test_expected_headers_in_the_reference_order(nc):
    js = nc.jetstream()
    await js.add_stream(name="EXP", subjects=["exp.>"])
    await js.publish("exp.a", b"1", headers={"Nats-Msg-Id": "m1"})
    cases = [
        ({"Nats-Expected-Stream": "OTHER"}, 10060, "expected stream does not match"),
        ({"Nats-Expected-Last-Sequence": "5"}, 10071, "wrong last sequence: 1"),
        ({"Nats-Expected-Last-Subject-Sequence": "5"}, 10071, "wrong last sequence: 0"),
        ({"Nats-Expected-Last-Msg-Id": "zz"}, 10070, "wrong last msg ID: m1"),
        # The stream check comes first, the sequence checks before de-duplication.
        ({"Nats-Expected-Stream": "OTHER", "Nats-Expected-Last-Sequence": "9"}, 10060,
         "expected stream does not match"),
        ({"Nats-Msg-Id": "m1", "Nats-Expected-Last-Sequence": "9"}, 10071, "wrong last sequence: 1"),
    ]
    for headers, err_code, description in cases:
        with pytest.raises(nats.js.errors.BadRequestError) as refused:
            await js.publish("exp.b", b"x", headers=headers)
        assert (refused.value.code, refused.value.err_code, refused.value.description) == (400, err_code, description)
    raw = await nc.request("exp.b", b"x", headers={"Nats-Expected-Last-Sequence": "7"})
    assert json.loads(raw.data) == {"error": {"code": 400, "err_code": 10071, "description": "wrong last sequence: 1"},
                                    "stream": "EXP", "seq": 0}
    ok = await js.publish("exp.b", b"2", headers={"Nats-Expected-Stream": "EXP", "Nats-Expected-Last-Sequence": "1",
                                                   "Nats-Expected-Last-Subject-Sequence": "0",
                                                   "Nats-Expected-Last-Msg-Id": "m1"})
    assert ok.seq == 2
    on_a = await js.publish("exp.c", b"3", headers={"Nats-Expected-Last-Subject-Sequence": "1",
                                                     "Nats-Expected-Last-Subject-Sequence-Subject": "exp.a"})
    assert on_a.seq == 3
    assert (await js.stream_info("EXP")).state.messages == 3


async def test_max_msgs_discard_old_drops_the_oldest(nc):
    js = nc.jetstream()
    await js.add_stream(name="OLD", subjects=["old"], max_msgs=2)
    for index in range(4):
        await js.publish("old", b"%d" % index)
    state = (await js.stream_info("OLD")).state
    assert (state.messages, state.first_seq, state.last_seq) == (2, 3, 4)
    with pytest.raises(nats.js.errors.NotFoundError):
        await js.get_msg("OLD", 1)


async def test_discard_new_refuses_past_the_limits(nc):
    js = nc.jetstream()
    await js.add_stream(name="NEW", subjects=["new.>"], max_msgs=2, discard="new")
    await js.publish("new.a", b"1")
    await js.publish("new.a", b"2")
    with pytest.raises(nats.js.errors.ServiceUnavailableError) as refused:
        await js.publish("new.a", b"3")
    assert (refused.value.code, refused.value.err_code, refused.value.description) == (
        503, 10077, "maximum messages exceeded")
    await js.add_stream(name="BYTES", subjects=["bytes"], max_bytes=100, discard="new", storage="memory")
    await js.publish("bytes", b"x" * 40)
    with pytest.raises(nats.js.errors.ServiceUnavailableError) as full:
        await js.publish("bytes", b"x" * 40)
    assert full.value.description == "maximum bytes exceeded"
    state = (await js.stream_info("NEW")).state
    assert (state.messages, state.last_seq) == (2, 2)


async def test_max_msgs_per_subject_keeps_the_newest_or_refuses(nc):
    js = nc.jetstream()
    await js.add_stream(name="PER", subjects=["per.*"], max_msgs_per_subject=2, discard="new")
    for index in range(3):
        await js.publish("per.a", b"%d" % index)
    await js.publish("per.b", b"b")
    info = await api(nc, "$JS.API.STREAM.INFO.PER", {"subjects_filter": "per.*"})
    assert info["state"]["subjects"] == {"per.a": 2, "per.b": 1}
    assert info["state"]["first_seq"] == 2
    await js.add_stream(name="STRICT", subjects=["strict.*"], max_msgs_per_subject=1, discard="new",
                        discard_new_per_subject=True)
    await js.publish("strict.a", b"1")
    with pytest.raises(nats.js.errors.ServiceUnavailableError) as refused:
        await js.publish("strict.a", b"2")
    assert (refused.value.err_code, refused.value.description) == (10077, "maximum messages per subject exceeded")
    assert (await js.publish("strict.b", b"1")).seq == 2


async def test_max_msg_size_counts_headers_and_payload(nc):
    js = nc.jetstream()
    await js.add_stream(name="SIZE", subjects=["size"], max_msg_size=10)
    assert (await js.publish("size", b"x" * 10)).seq == 1
    with pytest.raises(nats.js.errors.BadRequestError) as refused:
        await js.publish("size", b"x" * 11)
    assert (refused.value.err_code, refused.value.description) == (10054, "message size exceeds maximum allowed")


async def test_max_age_expires_messages(nc):
    js = nc.jetstream()
    await js.add_stream(name="AGE", subjects=["age"], max_age=0.3, storage="memory")
    await js.publish("age", b"1")
    await js.publish("age", b"2")

    async def expired():
        state = (await js.stream_info("AGE")).state
        return state.messages == 0 and state

    state = await poll_until(expired, timeout=5)
    assert state and (state.first_seq, state.last_seq) == (3, 2)


async def test_publish_async_burst_is_acked_in_order(nc):
    js = nc.jetstream()
    await js.add_stream(name="BURST", subjects=["burst"])
    acks = [await js.publish_async("burst", b"%d" % index) for index in range(50)]
    results = [await ack for ack in acks]
    assert [ack.seq for ack in results] == list(range(1, 51))
    assert (await js.stream_info("BURST")).state.messages == 50


async def test_rollup_headers(nc):
    js = nc.jetstream()
    await js.add_stream(name="ROLL", subjects=["roll.*"], allow_rollup_hdrs=True)
    for subject in ("roll.a", "roll.a", "roll.b"):
        await js.publish(subject, b"x")
    assert (await js.publish("roll.a", b"sub", headers={"Nats-Rollup": "sub"})).seq == 4
    info = await api(nc, "$JS.API.STREAM.INFO.ROLL", {"subjects_filter": ">"})
    assert info["state"]["subjects"] == {"roll.a": 1, "roll.b": 1}
    with pytest.raises(nats.js.errors.ServerError) as invalid:
        await js.publish("roll.a", b"x", headers={"Nats-Rollup": "bogus"})
    assert (invalid.value.err_code, invalid.value.description) == (10111, 'rollup value invalid: "bogus"')
    assert (await js.publish("roll.b", b"all", headers={"Nats-Rollup": "all"})).seq == 5
    state = (await js.stream_info("ROLL")).state
    assert (state.messages, state.first_seq, state.last_seq) == (1, 5, 5)
    await js.add_stream(name="NOROLL", subjects=["noroll"])
    with pytest.raises(nats.js.errors.ServerError) as refused:
        await js.publish("noroll", b"x", headers={"Nats-Rollup": "sub"})
    assert (refused.value.code, refused.value.err_code, refused.value.description) == (
        500, 10111, "rollup not permitted")
