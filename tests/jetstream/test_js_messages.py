"""Reading and removing stored messages, against edgenats and nats-server alike: STREAM.MSG.GET by
sequence, last and next by subject (wildcards too), STREAM.MSG.DELETE and STREAM.PURGE with
filter, seq and keep, and the sequence conventions STREAM.INFO shows afterwards."""

from __future__ import annotations

import base64

import nats.js.errors
import pytest
from js_helpers import api


@pytest.fixture
async def filled(nc):
    js = nc.jetstream()
    await js.add_stream(name="M", subjects=["m.>"])
    await js.publish("m.a", b"one", headers={"Nats-Msg-Id": "id-1"})
    await js.publish("m.b", b"two")
    await js.publish("m.a", b"three")
    await js.publish("m.c.d", b"")
    return js


async def test_get_by_sequence_returns_the_stored_headers_verbatim(nc, filled):
    answer = await api(nc, "$JS.API.STREAM.MSG.GET.M", {"seq": 1})
    assert answer["type"] == "io.nats.jetstream.api.v1.stream_msg_get_response"
    message = answer["message"]
    assert set(message) == {"subject", "seq", "hdrs", "data", "time"}
    assert base64.b64decode(message["hdrs"]) == b"NATS/1.0\r\nNats-Msg-Id: id-1\r\n\r\n"
    assert (message["subject"], message["seq"], base64.b64decode(message["data"])) == ("m.a", 1, b"one")
    assert message["time"].endswith("Z")
    empty = (await api(nc, "$JS.API.STREAM.MSG.GET.M", {"seq": 4}))["message"]
    assert set(empty) == {"subject", "seq", "time"}
    got = await filled.get_msg("M", 2)
    assert (got.subject, got.seq, got.data) == ("m.b", 2, b"two")


async def test_last_and_next_by_subject_with_wildcards(nc, filled):
    last = await filled.get_last_msg("M", "m.a")
    assert (last.seq, last.data) == (3, b"three")
    assert (await api(nc, "$JS.API.STREAM.MSG.GET.M", {"last_by_subj": "m.*"}))["message"]["seq"] == 3
    assert (await api(nc, "$JS.API.STREAM.MSG.GET.M", {"last_by_subj": "m.>"}))["message"]["seq"] == 4
    following = await api(nc, "$JS.API.STREAM.MSG.GET.M", {"next_by_subj": "m.a", "seq": 2})
    assert following["message"]["seq"] == 3
    first = await filled.get_msg("M", seq=1, next=True, subject="m.b")
    assert first.seq == 2


async def test_get_misses_and_bad_requests(nc, filled):
    with pytest.raises(nats.js.errors.NotFoundError) as missing:
        await filled.get_msg("M", 99)
    assert (missing.value.err_code, missing.value.description) == (10037, "no message found")
    for body in ({}, {"seq": 1, "last_by_subj": "m.a"}):
        answer = await api(nc, "$JS.API.STREAM.MSG.GET.M", body)
        assert answer["error"] == {"code": 400, "err_code": 10003, "description": "bad request"}
    unknown = await api(nc, "$JS.API.STREAM.MSG.GET.NOPE", {"seq": 1})
    assert unknown["error"]["err_code"] == 10059


async def test_delete_message_leaves_a_gap(nc, filled):
    assert await filled.delete_msg("M", 2) is True
    with pytest.raises(nats.js.errors.BadRequestError) as again:
        await filled.delete_msg("M", 2)
    assert (again.value.err_code, again.value.description) == (10043, "sequence 2 not found")
    info = await api(nc, "$JS.API.STREAM.INFO.M")
    assert (info["state"]["messages"], info["state"]["num_deleted"]) == (3, 1)
    bad = await api(nc, "$JS.API.STREAM.MSG.DELETE.M", {})
    assert bad["error"] == {"code": 400, "err_code": 10003, "description": "bad request"}


async def test_purge_variants(nc, filled):
    refused = await api(nc, "$JS.API.STREAM.PURGE.M", {"seq": 2, "keep": 1})
    assert refused == {"type": "io.nats.jetstream.api.v1.stream_purge_response",
                       "error": {"code": 400, "err_code": 10003, "description": "bad request"}, "purged": 0}
    kept = await api(nc, "$JS.API.STREAM.PURGE.M", {"filter": "m.a", "keep": 1})
    assert kept == {"type": "io.nats.jetstream.api.v1.stream_purge_response", "success": True, "purged": 1}
    below = await api(nc, "$JS.API.STREAM.PURGE.M", {"seq": 3})
    assert below["purged"] == 1
    assert await filled.purge_stream("M") is True
    state = (await filled.stream_info("M")).state
    assert (state.messages, state.first_seq, state.last_seq) == (0, 5, 4)
    assert (await filled.publish("m.a", b"after")).seq == 5
