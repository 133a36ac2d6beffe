"""Interest and workqueue retention with push consumers, against both servers: a workqueue stream
takes only explicit-ack, deliver-all push consumers (10098, 10101); its push consumer removes what it
acked; an interest stream's push consumer removes what it acked (ack explicit), what it delivered (ack
none) or everything up to what it acked (ack all), and keeps what it could not deliver yet."""

from __future__ import annotations

import pytest
from js_helpers import api, stream_state, stream_state_becomes


async def _stream(nc, retention: str) -> None:
    created = await api(nc, "$JS.API.STREAM.CREATE.R", {"name": "R", "subjects": ["r.>"], "storage": "memory",
                                                        "retention": retention})
    assert created["config"]["retention"] == retention


async def _push(nc, ack_policy: str, deliver_subject: str = "dlv.r", **config) -> dict:
    return await api(nc, "$JS.API.CONSUMER.CREATE.R.P", {"stream_name": "R", "config": {
        "durable_name": "P", "ack_policy": ack_policy, "deliver_subject": deliver_subject, **config}})




async def _publish(nc, count: int) -> None:
    for index in range(count):
        await nc.request(f"r.{index}", b"x", timeout=2)


@pytest.mark.parametrize(("config", "error"), [
    ({"ack_policy": "none"}, (10098, "workqueue stream requires explicit ack")),
    ({"ack_policy": "all"}, (10098, "workqueue stream requires explicit ack")),
    ({"ack_policy": "none", "deliver_policy": "new"}, (10098, "workqueue stream requires explicit ack")),
    ({"ack_policy": "explicit", "deliver_policy": "new"}, (10101, "consumer must be deliver all on workqueue stream")),
], ids=["ack_none", "ack_all", "ack_checked_first", "deliver_new"])
async def test_workqueue_refuses_push_consumers_it_cannot_serve(nc, config, error):
    await _stream(nc, "workqueue")
    answer = await _push(nc, **config)
    assert answer["error"] == {"code": 400, "err_code": error[0], "description": error[1]}
    assert (await api(nc, "$JS.API.CONSUMER.NAMES.R"))["consumers"] == []


async def test_workqueue_push_consumer_removes_what_it_acked(nc):
    await _stream(nc, "workqueue")
    subscription = await nc.subscribe("dlv.r")
    assert (await _push(nc, "explicit"))["config"]["ack_policy"] == "explicit"
    await _publish(nc, 2)
    first, second = [await subscription.next_msg(timeout=2) for _ in range(2)]
    await nc.request(second.reply, b"+ACK", timeout=2)
    assert await stream_state_becomes(nc, "R", (1, 1, 2)) == (1, 1, 2)
    await nc.request(first.reply, b"+ACK", timeout=2)
    assert await stream_state_becomes(nc, "R", (0, 3, 2)) == (0, 3, 2)


async def test_interest_push_ack_explicit_removes_once_acked(nc):
    await _stream(nc, "interest")
    subscription = await nc.subscribe("dlv.r")
    await _push(nc, "explicit")
    await _publish(nc, 2)
    first, second = [await subscription.next_msg(timeout=2) for _ in range(2)]
    assert await stream_state(nc, "R") == (2, 1, 2)  # delivered, not acked: kept
    await nc.request(first.reply, b"+ACK", timeout=2)
    assert await stream_state_becomes(nc, "R", (1, 2, 2)) == (1, 2, 2)
    await nc.request(second.reply, b"+ACK", timeout=2)
    assert await stream_state_becomes(nc, "R", (0, 3, 2)) == (0, 3, 2)


async def test_interest_push_ack_all_removes_up_to_the_acked_one(nc):
    await _stream(nc, "interest")
    subscription = await nc.subscribe("dlv.r")
    await _push(nc, "all")
    await _publish(nc, 3)
    delivered = [await subscription.next_msg(timeout=2) for _ in range(3)]
    await nc.request(delivered[1].reply, b"+ACK", timeout=2)
    assert await stream_state_becomes(nc, "R", (1, 3, 3)) == (1, 3, 3)


async def test_interest_push_ack_none_removes_once_delivered(nc):
    await _stream(nc, "interest")
    await _push(nc, "none")
    await _publish(nc, 2)
    assert await stream_state(nc, "R") == (2, 1, 2)  # no subscriber on the deliver subject: nothing delivered yet
    subscription = await nc.subscribe("dlv.r")
    assert [(await subscription.next_msg(timeout=2)).subject for _ in range(2)] == ["r.0", "r.1"]
    assert await stream_state_becomes(nc, "R", (0, 3, 2)) == (0, 3, 2)
