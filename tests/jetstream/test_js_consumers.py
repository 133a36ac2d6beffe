"""Pull consumers against edgenats and nats-server alike: pull_subscribe + fetch + ack end to end,
empty fetches, ack_wait redelivery, ConsumerInfo accounting, durable create rules and delete."""

from __future__ import annotations

import asyncio

import nats
import nats.errors
import nats.js.errors
import pytest
from js_helpers import api, poll_until
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

CONSUMER_INFO_KEYS = {"type", "stream_name", "name", "created", "config", "delivered", "ack_floor",
                      "num_ack_pending", "num_redelivered", "num_waiting", "num_pending", "ts"}


@pytest.fixture
async def js(nc):
    js = nc.jetstream()
    await js.add_stream(name="EVENTS", subjects=["events.>"])
    for index in range(3):
        await js.publish(f"events.{index}", f"m{index}".encode())
    return js


async def test_pull_subscribe_fetch_and_ack(js):
    sub = await js.pull_subscribe("events.>", durable="WORKER")
    messages = await sub.fetch(3, timeout=2)
    assert [m.data for m in messages] == [b"m0", b"m1", b"m2"]
    tokens = messages[0].reply.split(".")
    assert tokens[:4] == ["$JS", "ACK", "EVENTS", "WORKER"] and len(tokens) == 9
    assert [m.metadata.num_pending for m in messages] == [2, 1, 0]
    assert [(m.metadata.sequence.stream, m.metadata.sequence.consumer) for m in messages] == [(1, 1), (2, 2), (3, 3)]
    await messages[0].ack()
    await messages[1].ack_sync()
    await messages[2].ack_sync()
    info = await js.consumer_info("EVENTS", "WORKER")
    assert (info.num_ack_pending, info.num_pending, info.num_redelivered) == (0, 0, 0)
    assert (info.delivered.stream_seq, info.ack_floor.stream_seq, info.ack_floor.consumer_seq) == (3, 3, 3)
    await js.publish("events.later", b"m3")
    [later] = await sub.fetch(1, timeout=2)
    assert (later.data, later.metadata.num_pending, later.metadata.sequence.stream) == (b"m3", 0, 4)


async def test_fetch_with_nothing_times_out(js):
    sub = await js.pull_subscribe("events.none", durable="EMPTY")
    with pytest.raises(nats.errors.TimeoutError):
        await sub.fetch(1, timeout=0.5)
    # nats-py's own timer and the 408 of its no_wait probe race at the deadline; when its timer wins it
    # raises the builtin TimeoutError (the base of nats.errors.TimeoutError), with either server.
    with pytest.raises(TimeoutError):
        await sub.fetch(5, timeout=0.5)


async def test_no_wait_pull_answers_404_and_expiry_answers_408(nc, js):
    await js.add_consumer("EVENTS", ConsumerConfig(durable_name="RAW", deliver_policy=DeliverPolicy.NEW,
                                                   ack_policy=AckPolicy.EXPLICIT))
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    await nc.publish("$JS.API.CONSUMER.MSG.NEXT.EVENTS.RAW", b'{"batch":1,"no_wait":true}', reply=inbox)
    status = await sub.next_msg(timeout=2)
    assert (status.headers.get("Status"), status.headers.get("Description")) == ("404", "No Messages")
    await nc.publish("$JS.API.CONSUMER.MSG.NEXT.EVENTS.RAW", b'{"batch":3,"expires":200000000}', reply=inbox)
    status = await sub.next_msg(timeout=2)
    assert (status.headers.get("Status"), status.headers.get("Nats-Pending-Messages")) == ("408", "3")


async def test_unacked_message_is_redelivered_after_ack_wait(js):
    sub = await js.pull_subscribe("events.0", durable="SLOW", config=ConsumerConfig(ack_wait=0.3, max_deliver=2))
    [first] = await sub.fetch(1, timeout=2)
    assert first.metadata.num_delivered == 1
    [again] = await sub.fetch(1, timeout=3)
    assert (again.data, again.metadata.num_delivered, again.metadata.sequence.consumer) == (b"m0", 2, 2)
    info = await js.consumer_info("EVENTS", "SLOW")
    assert (info.num_redelivered, info.num_ack_pending) == (1, 1)
    await again.ack_sync()
    info = await js.consumer_info("EVENTS", "SLOW")
    assert (info.num_redelivered, info.num_ack_pending, info.ack_floor.stream_seq) == (0, 0, 1)


async def test_nak_redelivers_and_term_does_not(js):
    sub = await js.pull_subscribe("events.>", durable="NAKS")
    first, second, _ = await sub.fetch(3, timeout=2)
    await first.nak()
    [redelivered] = await sub.fetch(1, timeout=2)
    assert (redelivered.data, redelivered.metadata.num_delivered) == (b"m0", 2)
    await second.term()
    await redelivered.ack_sync()
    info = await js.consumer_info("EVENTS", "NAKS")
    assert (info.num_ack_pending, info.ack_floor.stream_seq) == (1, 2)


async def test_consumer_info_document_and_deliver_policies(nc, js):
    created = await api(nc, "$JS.API.CONSUMER.CREATE.EVENTS.POL.events.>", {
        "stream_name": "EVENTS", "config": {"name": "POL", "durable_name": "POL", "deliver_policy": "last",
                                            "ack_policy": "explicit", "filter_subject": "events.>",
                                            "ack_wait": 0, "inactive_threshold": 0}})
    assert set(created) == CONSUMER_INFO_KEYS
    assert created["type"] == "io.nats.jetstream.api.v1.consumer_create_response"
    config = {key: value for key, value in created["config"].items() if key != "metadata"}
    assert config == {"durable_name": "POL", "name": "POL", "deliver_policy": "last", "ack_policy": "explicit",
                      "ack_wait": 30000000000, "max_deliver": -1, "filter_subject": "events.>",
                      "replay_policy": "instant", "max_waiting": 512, "max_ack_pending": 1000, "num_replicas": 0}
    assert (created["delivered"], created["num_pending"]) == ({"consumer_seq": 0, "stream_seq": 2}, 1)
    for policy, extra, pending in (("new", {}, 0), ("by_start_sequence", {"opt_start_seq": 2}, 2),
                                   ("last_per_subject", {"filter_subject": "events.>"}, 3), ("all", {}, 3)):
        info = await js.add_consumer("EVENTS", ConsumerConfig(deliver_policy=DeliverPolicy(policy), **extra))
        assert info.num_pending == pending, policy
    missing = await api(nc, "$JS.API.CONSUMER.CREATE.EVENTS", {
        "stream_name": "EVENTS", "config": {"deliver_policy": "by_start_sequence"}})
    assert missing["error"]["err_code"] == 10094
    overlapping = await api(nc, "$JS.API.CONSUMER.CREATE.EVENTS", {
        "stream_name": "EVENTS", "config": {"filter_subjects": ["events.1", "events.*"]}})
    assert overlapping["error"] == {"code": 400, "err_code": 10138,
                                    "description": "consumer subject filters cannot overlap"}
    unfiltered = await api(nc, "$JS.API.CONSUMER.CREATE.EVENTS", {
        "stream_name": "EVENTS", "config": {"deliver_policy": "last_per_subject"}})
    assert unfiltered["error"]["err_code"] == 10094
    names = await api(nc, "$JS.API.CONSUMER.NAMES.EVENTS")
    assert len(names["consumers"]) == names["total"] == 5 and "POL" in names["consumers"]
    listed = await api(nc, "$JS.API.CONSUMER.LIST.EVENTS")
    assert (listed["total"], listed["limit"], len(listed["consumers"])) == (5, 256, 5)
    assert (await js.stream_info("EVENTS")).state.consumer_count == 5
    ephemeral = await api(nc, "$JS.API.CONSUMER.CREATE.EVENTS", {"stream_name": "EVENTS",
                                                                 "config": {"ack_policy": "explicit"}})
    assert len(ephemeral["name"]) == 8 and "name" not in ephemeral["config"]
    assert ephemeral["config"]["inactive_threshold"] == 5_000_000_000
    unmatched = await api(nc, "$JS.API.CONSUMER.CREATE.EVENTS.F.events.1", {
        "stream_name": "EVENTS", "config": {"name": "F", "filter_subject": "events.2"}})
    assert unmatched["error"]["err_code"] == 10131
    filters_in_subject = await api(nc, "$JS.API.CONSUMER.CREATE.EVENTS.F.events.1", {
        "stream_name": "EVENTS", "config": {"name": "F", "filter_subjects": ["events.1"]}})
    assert filters_in_subject["error"]["err_code"] == 10137


async def test_durable_create_is_idempotent_and_refuses_conflicts(nc, js):
    config = ConsumerConfig(durable_name="D", ack_policy=AckPolicy.EXPLICIT)
    first = await js.add_consumer("EVENTS", config)
    again = await js.add_consumer("EVENTS", config)
    assert (first.name, first.created) == (again.name, again.created)
    with pytest.raises(nats.js.errors.ServerError) as conflict:
        await js.add_consumer("EVENTS", ConsumerConfig(durable_name="D", ack_policy=AckPolicy.EXPLICIT,
                                                       deliver_policy=DeliverPolicy.NEW))
    assert (conflict.value.err_code, conflict.value.description) == (10012, "deliver policy can not be updated")
    created = await api(nc, "$JS.API.CONSUMER.CREATE.EVENTS.D", {
        "stream_name": "EVENTS", "config": {"durable_name": "D", "ack_policy": "explicit",
                                            "deliver_policy": "new"}, "action": "create"})
    assert created["error"] == {"code": 400, "err_code": 10148, "description": "consumer already exists"}
    mismatch = await api(nc, "$JS.API.CONSUMER.DURABLE.CREATE.EVENTS.D", {
        "stream_name": "EVENTS", "config": {"durable_name": "OTHER"}})
    assert mismatch["error"]["err_code"] == 10017


async def test_stream_max_consumers_is_enforced(nc, js):
    await js.add_stream(name="FEW", subjects=["few"], max_consumers=1)
    await js.add_consumer("FEW", ConsumerConfig(durable_name="ONE"))
    refused = await api(nc, "$JS.API.CONSUMER.DURABLE.CREATE.FEW.TWO", {"stream_name": "FEW",
                                                                       "config": {"durable_name": "TWO"}})
    assert refused["error"] == {"code": 400, "err_code": 10026, "description": "maximum consumers limit reached"}
    assert (await js.add_consumer("FEW", ConsumerConfig(durable_name="ONE"))).name == "ONE"


async def test_delete_consumer(nc, js):
    await js.add_consumer("EVENTS", ConsumerConfig(durable_name="GONE", ack_policy=AckPolicy.EXPLICIT))
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    await nc.publish("$JS.API.CONSUMER.MSG.NEXT.EVENTS.GONE", b'{"batch":10,"expires":5000000000}', reply=inbox)
    delivered = [await sub.next_msg(timeout=2) for _ in range(3)]
    assert [message.subject for message in delivered] == ["events.0", "events.1", "events.2"]
    assert await js.delete_consumer("EVENTS", "GONE") is True
    deleted = await sub.next_msg(timeout=2)
    assert (deleted.headers.get("Status"), deleted.headers.get("Description")) == ("409", "Consumer Deleted")
    with pytest.raises(nats.js.errors.NotFoundError) as missing:
        await js.consumer_info("EVENTS", "GONE")
    assert missing.value.err_code == 10014
    with pytest.raises(nats.js.errors.NotFoundError):
        await js.delete_consumer("EVENTS", "GONE")
    with pytest.raises(nats.errors.NoRespondersError):
        await nc.request("$JS.API.CONSUMER.MSG.NEXT.EVENTS.GONE", b"", timeout=2)
    assert (await js.stream_info("EVENTS")).state.consumer_count == 0


async def test_waiting_request_gets_messages_published_later(js):
    sub = await js.pull_subscribe("events.new", durable="LATE", config=ConsumerConfig(
        deliver_policy=DeliverPolicy.NEW))
    fetch = asyncio.ensure_future(sub.fetch(1, timeout=3))
    info = await js.consumer_info("EVENTS", "LATE")
    while info.num_waiting == 0:
        info = await js.consumer_info("EVENTS", "LATE")
    await js.publish("events.new", b"fresh")
    [message] = await fetch
    assert (message.data, message.metadata.num_pending) == (b"fresh", 0)


async def test_idle_ephemeral_is_removed_after_inactive_threshold(nc, js):
    created = await api(nc, "$JS.API.CONSUMER.CREATE.EVENTS", {
        "stream_name": "EVENTS", "config": {"ack_policy": "explicit", "inactive_threshold": 300_000_000}})
    assert created["config"]["inactive_threshold"] == 300_000_000

    async def gone():
        return (await api(nc, "$JS.API.CONSUMER.NAMES.EVENTS"))["total"] == 0

    assert await poll_until(gone, timeout=10)
    await js.add_consumer("EVENTS", ConsumerConfig(durable_name="KEEP", ack_policy=AckPolicy.EXPLICIT))
    assert (await api(nc, "$JS.API.CONSUMER.NAMES.EVENTS"))["consumers"] == ["KEEP"]


async def test_durable_position_survives_a_restart(server_kind, server_factory, tmp_path):
    arguments = ["-js", "-sd", str(tmp_path / "store")]
    first = server_factory(server_kind, extra_args=arguments)
    nc = await nats.connect(first.url)
    js = nc.jetstream()
    await js.add_stream(name="KEEP", subjects=["keep.>"])
    for index in range(4):
        await js.publish(f"keep.{index}", f"k{index}".encode())
    sub = await js.pull_subscribe("keep.>", durable="DUR")
    for message in await sub.fetch(2, timeout=2):
        await message.ack_sync()
    await nc.close()
    first.stop()

    second = server_factory(server_kind, extra_args=arguments)
    nc = await nats.connect(second.url)
    js = nc.jetstream()
    info = await js.consumer_info("KEEP", "DUR")
    assert (info.config.durable_name, info.ack_floor.stream_seq, info.num_pending) == ("DUR", 2, 2)
    sub = await js.pull_subscribe("keep.>", durable="DUR")
    rest = await sub.fetch(2, timeout=2)
    assert [message.data for message in rest] == [b"k2", b"k3"]
    await nc.close()


async def test_max_deliver_stops_redelivery_and_holds_the_ack_floor(nc, js):
    sub = await js.pull_subscribe("events.1", durable="MAX", config=ConsumerConfig(ack_wait=0.3, max_deliver=2))
    [first] = await sub.fetch(1, timeout=2)
    [second] = await sub.fetch(1, timeout=3)
    assert (first.metadata.num_delivered, second.metadata.num_delivered) == (1, 2)
    with pytest.raises(nats.errors.TimeoutError):
        await sub.fetch(1, timeout=1)
    info = await api(nc, "$JS.API.CONSUMER.INFO.EVENTS.MAX")
    assert (info["num_ack_pending"], info["num_redelivered"]) == (0, 1)
    assert (info["ack_floor"]["stream_seq"], info["ack_floor"]["consumer_seq"]) == (0, 0)


async def test_ack_all_acknowledges_everything_below(js):
    sub = await js.pull_subscribe("events.>", durable="ALL", config=ConsumerConfig(ack_policy=AckPolicy.ALL))
    messages = await sub.fetch(3, timeout=2)
    await messages[1].ack_sync()
    info = await js.consumer_info("EVENTS", "ALL")
    assert (info.num_ack_pending, info.ack_floor.stream_seq, info.ack_floor.consumer_seq) == (1, 2, 2)


async def test_ack_next_acks_and_delivers_on_the_reply(nc, js):
    sub = await js.pull_subscribe("events.>", durable="NXT")
    [first] = await sub.fetch(1, timeout=2)
    inbox = nc.new_inbox()
    replies = await nc.subscribe(inbox)
    await nc.publish(first.reply, b"+NXT", reply=inbox)
    following = await replies.next_msg(timeout=2)
    assert (following.subject, following.data) == ("events.1", b"m1")
    await nc.publish(following.reply, b"+WPI", reply=inbox)
    assert (await replies.next_msg(timeout=2)).data == b""
    info = await js.consumer_info("EVENTS", "NXT")
    assert (info.num_ack_pending, info.ack_floor.stream_seq, info.delivered.stream_seq) == (1, 1, 2)


async def test_consumer_names_with_subject_characters_are_refused(nc, js):
    for name in ("a.b", "a*", "a>"):
        answer = await api(nc, "$JS.API.CONSUMER.CREATE.EVENTS", {"stream_name": "EVENTS",
                                                                  "config": {"name": name}})
        assert answer["error"] == {"code": 500, "err_code": 10052,
                                   "description": "consumer name can not contain '.', '*', '>', '\\', '/'"}
    for name in ("a/b", "a\\b"):
        answer = await api(nc, "$JS.API.CONSUMER.CREATE.EVENTS", {"stream_name": "EVENTS",
                                                                  "config": {"name": name}})
        assert answer["error"] == {"code": 400, "err_code": 10127,
                                   "description": "Consumer name can not contain path separators"}
