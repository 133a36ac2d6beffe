"""Push (and the remaining pull) consumer config keys on both servers: what is echoed (defaults,
key order, zero keys left out), the refusals with the reference's codes and texts in its order, and
the update rules for push consumers."""

from __future__ import annotations

import pytest
from js_helpers import api
from subscribed import subscribed

CREATE = "$JS.API.CONSUMER.CREATE.E"


@pytest.fixture
async def stream(nc):
    js = nc.jetstream()
    await js.add_stream(name="E", subjects=["e.>"])
    for index in range(3):
        await js.publish(f"e.{index}", b"x" * index)
    return js


async def created_config(nc, config: dict) -> dict:
    answer = await api(nc, CREATE, {"stream_name": "E", "config": config})
    assert "error" not in answer, answer
    echoed = dict(answer["config"])
    echoed.pop("metadata")
    return echoed


ECHOED = [
    ({"deliver_subject": "dl.x", "ack_policy": "explicit", "idle_heartbeat": 0, "flow_control": False,
      "inactive_threshold": 0, "ack_wait": 0},
     {"deliver_policy": "all", "ack_policy": "explicit", "ack_wait": 30000000000, "max_deliver": -1,
      "replay_policy": "instant", "max_ack_pending": 1000, "deliver_subject": "dl.x",
      "inactive_threshold": 5000000000, "num_replicas": 0}),
    ({"backoff": [1, 2, 3], "ack_policy": "explicit"},
     {"deliver_policy": "all", "ack_policy": "explicit", "ack_wait": 1, "max_deliver": -1, "backoff": [1, 2, 3],
      "replay_policy": "instant", "max_waiting": 512, "max_ack_pending": 1000, "inactive_threshold": 5000000000,
      "num_replicas": 0}),
    ({"deliver_policy": "by_start_time", "opt_start_time": "2020-01-01T01:00:00.5+01:00"},
     {"deliver_policy": "by_start_time", "opt_start_time": "2020-01-01T01:00:00.5+01:00", "ack_policy": "none",
      "max_deliver": -1, "replay_policy": "instant", "max_waiting": 512, "inactive_threshold": 5000000000,
      "num_replicas": 0}),
    ({"max_batch": 5, "max_expires": 2000000000, "max_bytes": 100, "ack_policy": "explicit"},
     {"deliver_policy": "all", "ack_policy": "explicit", "ack_wait": 30000000000, "max_deliver": -1,
      "replay_policy": "instant", "max_waiting": 512, "max_ack_pending": 1000, "max_batch": 5,
      "max_expires": 2000000000, "max_bytes": 100, "inactive_threshold": 5000000000, "num_replicas": 0}),
    ({"max_batch": -1, "ack_policy": "explicit", "max_ack_pending": -5, "max_deliver": -3},
     {"deliver_policy": "all", "ack_policy": "explicit", "ack_wait": 30000000000, "max_deliver": -1,
      "replay_policy": "instant", "max_waiting": 512, "max_ack_pending": -1, "inactive_threshold": 5000000000,
      "num_replicas": 0}),
    ({"deliver_subject": "dl.z", "deliver_group": "g", "replay_policy": "original", "mem_storage": True,
      "num_replicas": 1, "flow_control": True, "idle_heartbeat": 1000000000, "headers_only": True,
      "ack_policy": "none", "ack_wait": 79200000000000, "max_deliver": 1},
     {"deliver_policy": "all", "ack_policy": "none", "ack_wait": 79200000000000, "max_deliver": 1,
      "replay_policy": "original", "flow_control": True, "headers_only": True, "deliver_subject": "dl.z",
      "deliver_group": "g", "idle_heartbeat": 1000000000, "inactive_threshold": 5000000000, "num_replicas": 1,
      "mem_storage": True}),
]


async def test_configs_are_echoed_as_the_reference_normalises_them(nc, stream):
    for config, echoed in ECHOED:  # one server for all cases: a server start costs more than a case
        assert await created_config(nc, config) == echoed, config


REFUSED = [
    ({"deliver_subject": "dl.*"}, 10079, "consumer deliver subject has wildcards"),
    ({"deliver_subject": "dl z"}, 10112, "invalid push consumer deliver subject"),
    ({"deliver_subject": "e.1"}, 10081, "consumer deliver subject forms a cycle"),
    ({"deliver_subject": "dl.z", "max_waiting": 3}, 10080, "consumer in push mode can not set max waiting"),
    ({"deliver_subject": "dl.z", "max_ack_pending": 3}, 10082, "consumer requires ack policy for max ack pending"),
    ({"deliver_subject": "dl.z", "idle_heartbeat": 50000000}, 10083, "consumer idle heartbeat needs to be >= 100ms"),
    ({"idle_heartbeat": 1000000000}, 10088, "consumer idle heartbeat requires a push based consumer"),
    ({"flow_control": True}, 10089, "consumer flow control requires a push based consumer"),
    ({"deliver_subject": "dl.z", "flow_control": True}, 10108, "consumer with flow control also needs heartbeats"),
    ({"backoff": [1, 2, 3], "max_deliver": 2, "ack_policy": "explicit"}, 10116,
     "max deliver is required to be > length of backoff values"),
    ({"backoff": [1, -2], "ack_policy": "explicit"}, 10184, "consumer backoff needs to be positive"),
    ({"ack_wait": -1, "ack_policy": "explicit"}, 10183, "consumer ack wait needs to be positive"),
    ({"max_expires": 500}, 10115, "consumer max request expires needs to be >= 1ms"),
    ({"deliver_policy": "by_start_time"}, 10094,
     "consumer delivery policy is deliver by start time, but optional start time is not set"),
    ({"deliver_policy": "all", "opt_start_time": "2020-01-01T00:00:00Z"}, 10094,
     "consumer delivery policy is deliver all, but optional start time is also set"),
    ({"deliver_policy": "new", "opt_start_seq": 2}, 10094,
     "consumer delivery policy is deliver new, but optional start sequence is also set"),
    ({"deliver_policy": "by_start_sequence", "opt_start_seq": 2, "opt_start_time": "2020-01-01T00:00:00Z"}, 10094,
     "consumer delivery policy is deliver by start sequence, but optional start time is also set"),
]


async def test_bad_configs_get_the_reference_error(nc, stream):
    for config, err_code, description in REFUSED:
        answer = await api(nc, CREATE, {"stream_name": "E", "config": config})
        assert answer["error"] == {"code": 400, "err_code": err_code, "description": description}, config


async def test_push_consumer_updates(nc, stream):
    durable = {"durable_name": "P", "deliver_subject": "dl.p", "ack_policy": "explicit"}
    await api(nc, "$JS.API.CONSUMER.DURABLE.CREATE.E.P", {"stream_name": "E", "config": durable})
    moved = await api(nc, "$JS.API.CONSUMER.DURABLE.CREATE.E.P", {
        "stream_name": "E", "config": {**durable, "deliver_subject": "dl.q", "description": "moved"}})
    assert (moved["config"]["deliver_subject"], moved["config"]["description"]) == ("dl.q", "moved")
    sub = await nc.subscribe("dl.q")
    await subscribed(nc)
    bound = await api(nc, "$JS.API.CONSUMER.DURABLE.CREATE.E.P", {
        "stream_name": "E", "config": {**durable, "deliver_subject": "dl.r"}})
    assert bound["error"] == {"code": 400, "err_code": 10013, "description": "consumer name already in use"}
    to_pull = await api(nc, "$JS.API.CONSUMER.DURABLE.CREATE.E.P", {
        "stream_name": "E", "config": {"durable_name": "P", "ack_policy": "explicit"}})
    assert to_pull["error"] == {"code": 500, "err_code": 10012,
                                "description": "can not update push consumer to pull based"}
    beats = await api(nc, "$JS.API.CONSUMER.DURABLE.CREATE.E.P", {
        "stream_name": "E", "config": {**durable, "deliver_subject": "dl.q", "idle_heartbeat": 1000000000}})
    assert beats["error"] == {"code": 500, "err_code": 10012, "description": "heart beats can not be updated"}
    await sub.unsubscribe()
    missing = await api(nc, "$JS.API.CONSUMER.DURABLE.CREATE.E.NONE", {
        "stream_name": "E", "config": {"durable_name": "NONE", "deliver_subject": "dl.n"}, "action": "update"})
    assert missing["error"] == {"code": 400, "err_code": 10149, "description": "consumer does not exist"}
    await api(nc, "$JS.API.CONSUMER.DURABLE.CREATE.E.W", {"stream_name": "E", "config": {"durable_name": "W"}})
    to_push = await api(nc, "$JS.API.CONSUMER.DURABLE.CREATE.E.W", {
        "stream_name": "E", "config": {"durable_name": "W", "deliver_subject": "dl.w"}})
    assert to_push["error"] == {"code": 500, "err_code": 10012,
                                "description": "can not update pull consumer to push based"}
