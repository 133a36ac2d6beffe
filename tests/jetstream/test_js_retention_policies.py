"""Interest and workqueue retention against both servers: what is kept while consumers still need it,
what goes once every interested consumer acked it (or the one workqueue consumer did), messages no
consumer wants on an interest stream, consumer removal, and the workqueue rules for consumers."""

from __future__ import annotations

import json

from js_helpers import api, stream_state, stream_state_becomes


async def _stream(nc, retention: str) -> None:
    created = await api(nc, "$JS.API.STREAM.CREATE.R", {"name": "R", "subjects": ["r.>"], "storage": "memory",
                                                        "retention": retention})
    assert created["config"]["retention"] == retention


async def _consumer(nc, name: str, **config) -> dict:
    return await api(nc, f"$JS.API.CONSUMER.CREATE.R.{name}",
                     {"stream_name": "R", "config": {"durable_name": name, "ack_policy": "explicit", **config}})


async def _next(nc, name: str):
    """One message pulled (delivered on the request's inbox under its stored subject)."""
    inbox = nc.new_inbox()
    subscription = await nc.subscribe(inbox)
    await nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.R.{name}", b"", reply=inbox)
    try:
        return await subscription.next_msg(timeout=2)
    finally:
        await subscription.unsubscribe()


async def _ack(nc, message, verb: bytes = b"+ACK") -> None:
    await nc.request(message.reply, verb, timeout=2)  # answered once the ack is taken




async def test_interest_stream_without_consumers_acks_and_drops(nc):
    await _stream(nc, "interest")
    reply = await nc.request("r.a", b"x", timeout=2)
    assert json.loads(reply.data) == {"stream": "R", "seq": 1}
    assert await stream_state_becomes(nc, "R", (0, 2, 1)) == (0, 2, 1)


async def test_interest_message_goes_when_every_matching_consumer_acked(nc):
    await _stream(nc, "interest")
    await _consumer(nc, "A", filter_subject="r.a")
    await _consumer(nc, "B")
    await nc.request("r.a", b"1", timeout=2)
    await nc.request("r.b", b"2", timeout=2)
    await nc.request("r.c", b"3", timeout=2)
    assert await stream_state(nc, "R") == (3, 1, 3)
    await _ack(nc, await _next(nc, "A"))
    assert await stream_state(nc, "R") == (3, 1, 3)  # B still wants r.a
    first = await _next(nc, "B")
    second = await _next(nc, "B")
    await _ack(nc, second)
    assert await stream_state_becomes(nc, "R", (2, 1, 3)) == (2, 1, 3)
    await _ack(nc, first)
    assert await stream_state_becomes(nc, "R", (1, 3, 3)) == (1, 3, 3)
    await _ack(nc, await _next(nc, "B"), b"+TERM")
    assert await stream_state_becomes(nc, "R", (0, 4, 3)) == (0, 4, 3)


async def test_interest_released_when_the_last_interested_consumer_is_deleted(nc):
    await _stream(nc, "interest")
    await _consumer(nc, "A")
    await _consumer(nc, "B")
    await nc.request("r.a", b"1", timeout=2)
    await _ack(nc, await _next(nc, "A"))
    assert await stream_state(nc, "R") == (1, 1, 1)
    deleted = await api(nc, "$JS.API.CONSUMER.DELETE.R.B")
    assert deleted["success"] is True
    assert await stream_state_becomes(nc, "R", (0, 2, 1)) == (0, 2, 1)


async def test_interest_ack_none_consumer_is_done_on_delivery(nc):
    await _stream(nc, "interest")
    await _consumer(nc, "N", ack_policy="none")
    await nc.request("r.a", b"1", timeout=2)
    assert await stream_state(nc, "R") == (1, 1, 1)
    delivered = await _next(nc, "N")
    assert delivered.data == b"1"
    assert await stream_state_becomes(nc, "R", (0, 2, 1)) == (0, 2, 1)


async def test_workqueue_ack_removes_and_unclaimed_messages_stay(nc):
    await _stream(nc, "workqueue")
    await _consumer(nc, "W", filter_subject="r.work")
    await nc.request("r.work", b"1", timeout=2)
    await nc.request("r.other", b"2", timeout=2)
    await nc.request("r.work", b"3", timeout=2)
    first = await _next(nc, "W")
    await _ack(nc, first)
    assert await stream_state_becomes(nc, "R", (2, 2, 3)) == (2, 2, 3)
    await _ack(nc, await _next(nc, "W"), b"+TERM")
    assert await stream_state_becomes(nc, "R", (1, 2, 3)) == (1, 2, 3)
    deleted = await api(nc, "$JS.API.CONSUMER.DELETE.R.W")
    assert deleted["success"] is True
    assert await stream_state(nc, "R") == (1, 2, 3)


async def test_workqueue_nak_keeps_the_message(nc):
    await _stream(nc, "workqueue")
    await _consumer(nc, "W")
    await nc.request("r.a", b"1", timeout=2)
    await _ack(nc, await _next(nc, "W"), b"-NAK")
    redelivered = await _next(nc, "W")
    assert redelivered.data == b"1"
    assert await stream_state(nc, "R") == (1, 1, 1)


CONSUMER_RULES = [
    (None, {"ack_policy": "none"},
     (10084, "consumer in pull mode requires explicit ack policy on workqueue stream")),
    (None, {"ack_policy": "all"}, (10098, "workqueue stream requires explicit ack")),
    (None, {"deliver_policy": "new"}, (10101, "consumer must be deliver all on workqueue stream")),
    (None, {"deliver_policy": "last"}, (10101, "consumer must be deliver all on workqueue stream")),
    ({}, {}, (10099, "multiple non-filtered consumers not allowed on workqueue stream")),
    ({}, {"filter_subject": "r.a"}, (10100, "filtered consumer not unique on workqueue stream")),
    ({"filter_subject": "r.*"}, {"filter_subject": "r.a"}, (10100, "filtered consumer not unique on workqueue stream")),
    ({"filter_subjects": ["r.a", "r.b"]}, {"filter_subject": "r.b"},
     (10100, "filtered consumer not unique on workqueue stream")),
    ({"filter_subject": "r.a"}, {"filter_subject": "r.b"}, None),
]


async def test_workqueue_consumer_rules(nc):
    for first, second, error in CONSUMER_RULES:
        await _stream(nc, "workqueue")
        if first is not None:
            assert "error" not in await _consumer(nc, "FIRST", **first)
        answer = await _consumer(nc, "SECOND", **second)
        if error is None:
            assert answer["name"] == "SECOND"
        else:
            assert answer["error"] == {"code": 400, "err_code": error[0], "description": error[1]}, (first, second)
        if first is not None:
            again = await _consumer(nc, "FIRST", **first)  # the same config again is no new consumer
            assert again["name"] == "FIRST"
        assert (await api(nc, "$JS.API.STREAM.DELETE.R"))["success"] is True


async def test_retention_updates(nc):
    for before, after, refused in [
        ("workqueue", "limits", True), ("workqueue", "interest", True), ("interest", "workqueue", True),
        ("limits", "workqueue", True), ("interest", "limits", False), ("limits", "interest", False),
    ]:
        await _stream(nc, before)
        answer = await api(nc, "$JS.API.STREAM.UPDATE.R", {"name": "R", "subjects": ["r.>"], "storage": "memory",
                                                           "retention": after})
        if refused:
            assert answer["error"] == {"code": 500, "err_code": 10052, "description":
                                       "stream configuration update can not change retention policy to/from workqueue"}
        else:
            assert answer["config"]["retention"] == after
        assert (await api(nc, "$JS.API.STREAM.DELETE.R"))["success"] is True


async def test_workqueue_acks_hold_across_a_restart(server_kind, server_factory, tmp_path):
    import nats

    arguments = ["-js", "-sd", str(tmp_path / "store")]
    first = server_factory(server_kind, extra_args=arguments)
    nc = await nats.connect(first.url)
    await api(nc, "$JS.API.STREAM.CREATE.R", {"name": "R", "subjects": ["r.>"], "retention": "workqueue"})
    await _consumer(nc, "W")
    for payload in (b"1", b"2", b"3"):
        await nc.request("r.job", payload, timeout=2)
    await _ack(nc, await _next(nc, "W"))
    assert await stream_state_becomes(nc, "R", (2, 2, 3)) == (2, 2, 3)
    await nc.close()
    first.stop()
    second = server_factory(server_kind, extra_args=arguments)
    nc = await nats.connect(second.url)
    try:
        assert await stream_state(nc, "R") == (2, 2, 3)
        job = await _next(nc, "W")
        assert job.data == b"2"
        await _ack(nc, job)
        assert await stream_state_becomes(nc, "R", (1, 3, 3)) == (1, 3, 3)
    finally:
        await nc.close()


async def test_becoming_an_interest_stream_drops_what_no_consumer_wants(nc):
    await _stream(nc, "limits")
    await nc.request("r.a", b"1", timeout=2)
    await nc.request("r.b", b"2", timeout=2)
    updated = await api(nc, "$JS.API.STREAM.UPDATE.R", {"name": "R", "subjects": ["r.>"], "storage": "memory",
                                                        "retention": "interest"})
    assert updated["config"]["retention"] == "interest"
    assert await stream_state_becomes(nc, "R", (0, 3, 2)) == (0, 3, 2)
    await _consumer(nc, "A", filter_subject="r.a")
    await nc.request("r.b", b"3", timeout=2)  # no consumer matches: dropped
    await nc.request("r.a", b"4", timeout=2)
    assert await stream_state_becomes(nc, "R", (1, 4, 4)) == (1, 4, 4)
