"""Direct consumers, as a sourcing hub creates them on the stream it sources (`"direct": true`, an
ephemeral push consumer): answered and echoed like any consumer, but neither listed nor counted in
the stream's consumer_count (nats-server hides them), and refused when pull or durable."""

from __future__ import annotations

from js_helpers import api

SOURCING = {
    "name": "JS_SRC_abc", "deliver_policy": "all", "ack_policy": "none", "ack_wait": 79_200_000_000_000,
    "max_deliver": 1, "replay_policy": "instant", "flow_control": True, "deliver_subject": "$JS.S.abc",
    "idle_heartbeat": 1_000_000_000, "inactive_threshold": 10_000_000_000, "num_replicas": 0, "direct": True,
    "metadata": {"_nats.src.acc": "$G", "_nats.src.domain": "hub", "_nats.src.stream": "AGG"},
}


async def create(nc, name: str, config: dict) -> dict:
    return await api(nc, f"$JS.API.CONSUMER.CREATE.T.{name}", {"stream_name": "T", "config": config})


async def test_a_direct_consumer_is_answered_but_not_listed(nc):
    await api(nc, "$JS.API.STREAM.CREATE.T", {"name": "T", "subjects": ["t.>"]})
    await api(nc, "$JS.API.CONSUMER.CREATE.T.visible", {"stream_name": "T", "config": {"name": "visible"}})
    created = await create(nc, "JS_SRC_abc", SOURCING)
    config = created["config"]
    assert (config["direct"], list(config)[-2:], created["num_pending"]) == (True, ["direct", "metadata"], 0)
    assert list(config["metadata"]) == sorted(config["metadata"])
    info = await api(nc, "$JS.API.CONSUMER.INFO.T.JS_SRC_abc")
    assert (info["name"], info["config"]["direct"]) == ("JS_SRC_abc", True)

    names = await api(nc, "$JS.API.CONSUMER.NAMES.T")
    listed = await api(nc, "$JS.API.CONSUMER.LIST.T")
    stream = await api(nc, "$JS.API.STREAM.INFO.T")
    account = await api(nc, "$JS.API.INFO")
    assert (names["total"], names["consumers"]) == (1, ["visible"])
    assert [consumer["name"] for consumer in listed["consumers"]] == ["visible"]
    assert (stream["state"]["consumer_count"], account["consumers"]) == (1, 2)
    assert (await api(nc, "$JS.API.CONSUMER.DELETE.T.JS_SRC_abc"))["success"] is True


async def test_a_direct_consumer_must_be_an_ephemeral_push_consumer(nc):
    await api(nc, "$JS.API.STREAM.CREATE.T", {"name": "T", "subjects": ["t.>"]})
    pull = {key: value for key, value in SOURCING.items()
            if key not in ("deliver_subject", "flow_control", "idle_heartbeat")}
    assert (await create(nc, "JS_SRC_abc", pull))["error"] == {
        "code": 400, "err_code": 10090, "description": "consumer direct requires a push based consumer"}
    durable = {**SOURCING, "name": "D", "durable_name": "D"}
    assert (await create(nc, "D", durable))["error"] == {
        "code": 400, "err_code": 10091, "description": "consumer direct requires an ephemeral consumer"}
