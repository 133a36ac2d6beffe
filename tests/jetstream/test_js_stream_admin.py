"""Stream administration over nats-py and raw $JS.API, against edgenats and nats-server alike:
account info, create/update/info/delete, names and list, the echoed config, and the errors (by
nats-py exception class, code and err_code) of refused configurations."""

from __future__ import annotations

import nats.js.errors
import pytest
from js_helpers import SHAPE_ACCOUNT_INFO, SHAPE_CONFIG, SHAPE_EMPTY_STATE, SHAPE_ERROR, SHAPE_LIMITS, api, shape


async def test_account_info_has_the_reference_keys_and_types(nc):
    info = await api(nc, "$JS.API.INFO")
    assert shape(info) == SHAPE_ACCOUNT_INFO
    assert info["type"] == "io.nats.jetstream.api.v1.account_info_response"
    assert shape(info["limits"]) == SHAPE_LIMITS
    assert set(info["api"]) == {"level", "total", "errors"}
    assert all(value == -1 for key, value in info["limits"].items() if key != "max_bytes_required")
    account = await nc.jetstream().account_info()
    assert (account.streams, account.consumers, account.memory, account.storage) == (0, 0, 0, 0)


async def test_create_echoes_the_normalised_config_and_an_empty_state(nc):
    js = nc.jetstream()
    await js.add_stream(name="ORDERS", subjects=["orders.>"], max_msgs=1000, duplicate_window=60)
    created = await api(nc, "$JS.API.STREAM.CREATE.ORDERS", {"name": "ORDERS", "subjects": ["orders.>"],
                                                             "max_msgs": 1000, "duplicate_window": 60_000_000_000})
    assert created["type"] == "io.nats.jetstream.api.v1.stream_create_response"
    assert created["did_create"] is True
    assert set(created) == {"type", "config", "created", "state", "ts", "did_create"}
    config = created["config"]
    assert shape(config) == SHAPE_CONFIG
    assert {key: value for key, value in config.items() if key != "metadata"} == {
        "name": "ORDERS", "subjects": ["orders.>"], "retention": "limits", "max_consumers": -1,
        "max_msgs": 1000, "max_bytes": -1, "max_age": 0, "max_msgs_per_subject": -1, "max_msg_size": -1,
        "discard": "old", "storage": "file", "num_replicas": 1, "duplicate_window": 60_000_000_000,
        "compression": "none", "allow_direct": False, "mirror_direct": False, "sealed": False,
        "deny_delete": False, "deny_purge": False, "allow_rollup_hdrs": False, "consumer_limits": {},
        "allow_msg_ttl": False,
    }
    assert shape(created["state"]) == SHAPE_EMPTY_STATE
    assert created["state"]["first_ts"] == "0001-01-01T00:00:00Z"
    assert created["created"].endswith("Z")


async def test_zero_durations_take_defaults_and_max_age_caps_the_duplicate_window(nc):
    js = nc.jetstream()
    plain = await js.add_stream(name="PLAIN", subjects=["plain"])
    assert plain.config.duplicate_window == 120.0
    aged = await js.add_stream(name="AGED", subjects=["aged"], max_age=5, storage="memory")
    assert (aged.config.max_age, aged.config.duplicate_window) == (5.0, 5.0)
    first = await api(nc, "$JS.API.STREAM.CREATE.FIRST", {"name": "FIRST", "subjects": ["first"], "first_seq": 10})
    assert (first["config"]["first_seq"], first["state"]["first_seq"], first["state"]["last_seq"]) == (10, 10, 9)


async def test_update_changes_limits_and_subjects_but_not_storage(nc):
    js = nc.jetstream()
    await js.add_stream(name="UP", subjects=["up.a"])
    updated = await js.update_stream(name="UP", subjects=["up.a", "up.b"], max_msgs=5)
    assert (updated.config.subjects, updated.config.max_msgs) == (["up.a", "up.b"], 5)
    ack = await js.publish("up.b", b"x")
    assert (ack.stream, ack.seq) == ("UP", 1)
    with pytest.raises(nats.js.errors.ServerError) as refused:
        await js.update_stream(name="UP", subjects=["up.a"], storage="memory")
    assert refused.value.err_code == 10052
    assert refused.value.description == "stream configuration update can not change storage type"
    with pytest.raises(nats.js.errors.NotFoundError) as missing:
        await js.update_stream(name="NOPE", subjects=["nope"])
    assert missing.value.err_code == 10059


@pytest.mark.parametrize("body, code, err_code, description", [
    ({"name": "R3", "subjects": ["r3"], "num_replicas": 3}, 500, 10074,
     "replicas > 1 not supported in non-clustered mode"),
    ({"name": "BAD", "subjects": ["a b"]}, 500, 10052, "invalid subject"),
    ({"name": "BAD", "subjects": ["x.>", "x.y"]}, 500, 10052, 'subject "x.>" overlaps with "x.y"'),
    ({"name": "BAD", "subjects": ["q"], "max_age": -1}, 500, 10052, "max age can not be negative"),
    ({"name": "BAD", "subjects": ["q"], "duplicate_window": 10_000_000_000, "max_age": 5_000_000_000}, 500, 10052,
     "duplicates window can not be larger then max age"),
    ({"name": "BAD", "subjects": ["q"], "discard": "new", "discard_new_per_subject": True}, 500, 10052,
     "discard new per subject requires max msgs per subject > 0"),
    ({"name": "BAD", "subjects": ["q"], "sealed": True}, 500, 10052,
     "stream configuration for create can not be sealed"),
    ({"name": "BAD", "subjects": [">"]}, 500, 10052, "capturing all subjects requires no-ack to be true"),
    ({"name": "BAD", "subjects": ["$JS.API.>"]}, 500, 10052,
     "subjects that overlap with jetstream api require no-ack to be true"),
    ({"name": "BAD", "subjects": ["q"], "unknownkey": 1}, 400, 10025, 'invalid JSON: json: unknown field "unknownkey"'),
    ({"name": "BAD", "subjects": ["q"], "max_msgs": "x"}, 400, 10025,
     "invalid JSON: json: cannot unmarshal string into Go struct field StreamConfigRequest.max_msgs of type int64"),
    ({"name": "OTHER", "subjects": ["q"]}, 400, 10056, "stream name in subject does not match request"),
    (b"", 400, 10056, "stream name in subject does not match request"),
], ids=["replicas", "subject", "self-overlap", "max-age", "window", "discard-new-per-subject", "sealed",
        "capture-all", "api-overlap", "unknown-key", "type", "name-mismatch", "empty-body"])
async def test_refused_configurations_answer_the_reference_error(nc, body, code, err_code, description):
    name = body["name"] if isinstance(body, dict) and body["name"] != "OTHER" else "BAD"
    answer = await api(nc, f"$JS.API.STREAM.CREATE.{name}", body)
    assert answer["type"] == "io.nats.jetstream.api.v1.stream_create_response"
    assert set(answer) == {"type", "error"}
    assert shape(answer["error"]) == SHAPE_ERROR
    assert answer["error"] == {"code": code, "err_code": err_code, "description": description}


async def test_invalid_json_is_refused_as_invalid_json(nc):
    answer = await api(nc, "$JS.API.STREAM.CREATE.FOO", b"{not json")
    assert (answer["error"]["code"], answer["error"]["err_code"]) == (400, 10025)
    assert answer["error"]["description"].startswith("invalid JSON: ")


async def test_same_config_again_is_success_and_a_different_one_is_refused(nc):
    js = nc.jetstream()
    first = await api(nc, "$JS.API.STREAM.CREATE.Z", {"name": "Z", "max_msgs": 5, "storage": "file"})
    again = await api(nc, "$JS.API.STREAM.CREATE.Z", {"name": "Z", "max_msgs": 5})
    assert again["did_create"] is True and again["created"] == first["created"]
    with pytest.raises(nats.js.errors.BadRequestError) as refused:
        await js.add_stream(name="Z", max_msgs=6)
    assert (refused.value.err_code, refused.value.description) == (
        10058, "stream name already in use with a different configuration")
    with pytest.raises(nats.js.errors.BadRequestError) as overlap:
        await js.add_stream(name="Z2", subjects=["Z"])
    assert (overlap.value.err_code, overlap.value.description) == (10065, "subjects overlap with an existing stream")


async def test_names_filter_by_colliding_subject_and_list_pages(nc):
    js = nc.jetstream()
    await js.add_stream(name="B", subjects=["b.*", "c.>"], storage="memory")
    await js.add_stream(name="A", subjects=["a.x"])
    names = await api(nc, "$JS.API.STREAM.NAMES")
    assert names == {"type": "io.nats.jetstream.api.v1.stream_names_response", "total": 2, "offset": 0,
                     "limit": 1024, "streams": ["A", "B"]}
    assert (await api(nc, "$JS.API.STREAM.NAMES", {"subject": "c.d.e"}))["streams"] == ["B"]
    assert (await api(nc, "$JS.API.STREAM.NAMES", {"subject": "*.x"}))["streams"] == ["A", "B"]
    nothing = await api(nc, "$JS.API.STREAM.NAMES", {"subject": "nothing"})
    assert (nothing["total"], nothing["streams"]) == (0, None)
    assert (await api(nc, "$JS.API.STREAM.NAMES", {"offset": 1}))["streams"] == ["B"]
    listed = await api(nc, "$JS.API.STREAM.LIST")
    assert (listed["total"], listed["offset"], listed["limit"]) == (2, 0, 256)
    assert [set(info) for info in listed["streams"]] == [{"config", "created", "state", "ts"}] * 2
    infos = await js.streams_info()
    assert sorted(info.config.name for info in infos) == ["A", "B"]
    assert await js.find_stream_name_by_subject("b.q") == "B"


async def test_info_with_subjects_filter_and_delete(nc):
    js = nc.jetstream()
    await js.add_stream(name="S", subjects=["s.>"])
    for subject in ("s.a", "s.b", "s.a"):
        await js.publish(subject, b"hello")
    info = await api(nc, "$JS.API.STREAM.INFO.S", {"subjects_filter": ">"})
    assert (info["total"], info["offset"], info["limit"]) == (2, 0, 100000)
    assert info["state"]["subjects"] == {"s.a": 2, "s.b": 1}
    assert info["state"]["num_subjects"] == 2
    assert info["cluster"].keys() == {"leader"}
    state = (await js.stream_info("S")).state
    assert (state.messages, state.first_seq, state.last_seq, state.bytes) == (3, 1, 3, 3 * (30 + 3 + 5))
    assert await js.delete_stream("S") is True
    with pytest.raises(nats.js.errors.NotFoundError) as gone:
        await js.stream_info("S")
    assert (gone.value.code, gone.value.err_code, gone.value.description) == (404, 10059, "stream not found")
    missing = await api(nc, "$JS.API.STREAM.DELETE.S")
    assert missing == {"type": "io.nats.jetstream.api.v1.stream_delete_response",
                       "error": {"code": 404, "err_code": 10059, "description": "stream not found"}}
    with pytest.raises(nats.js.errors.NoStreamResponseError):
        await js.publish("s.a", b"after delete")
