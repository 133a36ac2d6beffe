"""An edge stream mirrors or sources a hub stream across the leaf link (`external.api`
`$JS.hub.API`): the edge creates a push consumer on the hub's stream through the hub's domain API
and stores what it delivers (a mirror at the hub's sequences, a source at its own with the
`Nats-Stream-Source` header); when the link is cut and comes back, what the hub stored meanwhile
arrives once, in order. The hub is a real nats-server; the edge is edgenats, or a real nats-server
as the reference."""

from __future__ import annotations

import asyncio
import json

import nats
import nats.js.errors
import pytest
from leaf_helpers import request_until_answered, wait_for_interest
from subscribed import subscribed

WAIT = 10.0

EDGENATS_EDGE = pytest.param("edgenats", id="edgenats-edge-nats-server-hub")
REFERENCE_EDGE = pytest.param("nats-server", id="nats-server-edge")
HUB_API = "$JS.hub.API"




async def connected(pair) -> tuple:
    """(hub client, edge client) once the hub's domain API is reachable from the edge."""
    hub_nc = await nats.connect(pair.hub.url)
    edge_nc = await nats.connect(pair.leaf.url)
    await wait_for_interest(hub_nc, edge_nc, timeout=WAIT)
    await request_until_answered(edge_nc, f"{HUB_API}.INFO", timeout=WAIT)
    return hub_nc, edge_nc


async def edge_holds(edge_nc, stream: str, count: int) -> list:
    """The edge stream's messages once it holds `count`: (seq, subject, data, headers)."""
    js = edge_nc.jetstream()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while (messages := (await js.stream_info(stream)).state.messages) < count:
        assert loop.time() < deadline, f"the edge stream holds {messages} of {count}"
        await asyncio.sleep(0.05)
    info = await js.stream_info(stream)
    stored = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(stream, seq)
        stored.append((message.seq, message.subject, message.data, message.headers))
    return stored


async def publish(hub_nc, first: int, count: int) -> None:
    js = hub_nc.jetstream()
    for index in range(first, first + count):
        await js.publish(f"cmds.d{index % 2}", f"c{index}".encode())


def hub_messages(first: int, count: int) -> list:
    return [(index + 1, f"cmds.d{index % 2}", f"c{index}".encode(), None) for index in range(first, first + count)]


async def create(edge_nc, config: dict) -> dict:
    """STREAM.CREATE at the edge, raw: the response document."""
    answer = await edge_nc.request(f"$JS.API.STREAM.CREATE.{config['name']}", json.dumps(config).encode(), timeout=2)
    return json.loads(answer.data)


async def stream_info(edge_nc, stream: str) -> dict:
    answer = await edge_nc.request(f"$JS.API.STREAM.INFO.{stream}", b"", timeout=2)
    return json.loads(answer.data)


MIRROR = {"name": "CMDS_M", "mirror": {"name": "CMDS", "external": {"api": HUB_API, "deliver": ""}}}


@pytest.mark.parametrize("relayed", [EDGENATS_EDGE, REFERENCE_EDGE], indirect=True)
async def test_the_edge_mirrors_the_hub_stream_across_a_cut_link(relayed):
    pair, cutter = relayed
    hub_nc, edge_nc = await connected(pair)
    await hub_nc.jetstream().add_stream(name="CMDS", subjects=["cmds.>"])
    await publish(hub_nc, 0, 3)
    created = await create(edge_nc, MIRROR)
    assert created["config"]["mirror"] == MIRROR["mirror"]
    assert "subjects" not in created["config"]
    assert created["mirror"] == {**MIRROR["mirror"], "lag": 0, "active": -1}
    # What the hub held, at the same sequences, without a source header; then what it stores live.
    assert await edge_holds(edge_nc, "CMDS_M", 3) == hub_messages(0, 3)
    await publish(hub_nc, 3, 1)
    assert await edge_holds(edge_nc, "CMDS_M", 4) == hub_messages(0, 4)
    info = await stream_info(edge_nc, "CMDS_M")
    assert (info["mirror"]["name"], info["mirror"]["lag"]) == ("CMDS", 0)
    assert info["mirror"]["active"] >= 0

    # The link drops; the hub stores on meanwhile; once it is back all of it arrives, once, in order.
    cutter.cut()
    await publish(hub_nc, 4, 3)
    cutter.mend()
    assert await edge_holds(edge_nc, "CMDS_M", 7) == hub_messages(0, 7)
    await publish(hub_nc, 7, 1)
    assert await edge_holds(edge_nc, "CMDS_M", 8) == hub_messages(0, 8)
    for nc in (hub_nc, edge_nc):
        await nc.close()


@pytest.mark.parametrize("relayed", [EDGENATS_EDGE, REFERENCE_EDGE], indirect=True)
async def test_a_mirror_of_a_purged_hub_stream_starts_at_its_first_sequence(relayed):
    pair, _ = relayed
    hub_nc, edge_nc = await connected(pair)
    js = hub_nc.jetstream()
    await js.add_stream(name="CMDS", subjects=["cmds.>"])
    await publish(hub_nc, 0, 3)
    await js.purge_stream("CMDS")
    await publish(hub_nc, 3, 2)
    await create(edge_nc, MIRROR)
    assert await edge_holds(edge_nc, "CMDS_M", 2) == hub_messages(3, 2)
    for nc in (hub_nc, edge_nc):
        await nc.close()


@pytest.mark.parametrize("relayed", [EDGENATS_EDGE, REFERENCE_EDGE], indirect=True)
async def test_an_edge_stream_sources_part_of_a_hub_stream_beside_its_own_subjects(relayed):
    pair, _ = relayed
    hub_nc, edge_nc = await connected(pair)
    await hub_nc.jetstream().add_stream(name="CMDS", subjects=["cmds.>"])
    await publish(hub_nc, 0, 4)  # cmds.d1 holds c1 (seq 2) and c3 (seq 4)
    source = {"name": "CMDS", "filter_subject": "cmds.d1", "external": {"api": HUB_API, "deliver": ""}}
    created = await create(edge_nc, {"name": "SITE", "subjects": ["site.>"], "sources": [source]})
    assert created["config"]["sources"] == [source]
    assert created["sources"] == [{"name": "CMDS", "external": source["external"], "lag": 0, "active": -1,
                                   "filter_subject": "cmds.d1"}]
    stored = await edge_holds(edge_nc, "SITE", 2)
    # At the stream's own sequences, each with where it came from: the stream (and the hash of the
    # API it was reached by), its sequence there, the filter, no transform, its subject, and the
    # upstream stream's identity.
    assert [(seq, subject, data) for seq, subject, data, _ in stored] == [(1, "cmds.d1", b"c1"), (2, "cmds.d1", b"c3")]
    for (_, _, _, headers), upstream_seq in zip(stored, (2, 4), strict=True):
        origin = headers["Nats-Stream-Source"].split()
        assert origin[:5] == ["CMDS:bTMUkJQk", str(upstream_seq), "cmds.d1", ">", "cmds.d1"]
    # The stream's own subjects are captured as ever, between sourced messages.
    ack = await edge_nc.jetstream().publish("site.local", b"own")
    assert ack.seq == 3
    await publish(hub_nc, 4, 2)  # c5 on cmds.d1, seq 6
    stored = await edge_holds(edge_nc, "SITE", 4)
    assert [(seq, subject, data) for seq, subject, data, _ in stored] == [
        (1, "cmds.d1", b"c1"), (2, "cmds.d1", b"c3"), (3, "site.local", b"own"), (4, "cmds.d1", b"c5")]
    assert stored[2][3] is None
    info = await stream_info(edge_nc, "SITE")
    assert {key: info["sources"][0][key] for key in ("name", "lag", "seq", "filter_subject")} == {
        "name": "CMDS", "lag": 0, "seq": 6, "filter_subject": "cmds.d1"}
    for nc in (hub_nc, edge_nc):
        await nc.close()


@pytest.mark.parametrize("relayed", [EDGENATS_EDGE, REFERENCE_EDGE], indirect=True)
async def test_a_mirror_refuses_subjects_other_sources_and_changes(relayed):
    pair, _ = relayed
    hub_nc, edge_nc = await connected(pair)
    source = {"name": "CMDS", "external": {"api": HUB_API, "deliver": ""}}
    answer = await create(edge_nc, {"name": "TWICE", "sources": [source, source]})
    assert answer["error"] == {"code": 400, "err_code": 10140, "description": "duplicate source configuration detected"}
    await create(edge_nc, MIRROR)
    other = {**MIRROR, "mirror": {**MIRROR["mirror"], "name": "OTHER"}}
    answer = await edge_nc.request("$JS.API.STREAM.UPDATE.CMDS_M", json.dumps(other).encode(), timeout=2)
    assert json.loads(answer.data)["error"] == {"code": 400, "err_code": 10055,
                                                "description": "stream mirror configuration can not be updated"}
    answer = await create(edge_nc, {**MIRROR, "name": "M2", "subjects": ["cmds.local"]})
    assert answer["error"] == {"code": 400, "err_code": 10034, "description": "stream mirrors can not contain subjects"}
    answer = await create(edge_nc, {**MIRROR, "name": "M2", "sources": [source]})
    assert answer["error"] == {"code": 400, "err_code": 10031,
                               "description": "stream mirrors can not also contain other sources"}
    for nc in (hub_nc, edge_nc):
        await nc.close()


# What a create request for the mirror's consumer holds on both edges, besides name, deliver subject,
# start and (nats-server only: it asks for the durable sourcing of API level 4) `sourcing`.
CONSUMER_FIELDS = {"ack_policy": "none", "ack_wait": 79200000000000, "max_deliver": 1, "replay_policy": "instant",
                   "flow_control": True, "idle_heartbeat": 1000000000, "inactive_threshold": 10000000000,
                   "num_replicas": 0, "direct": True,
                   "metadata": {"_nats.mirror.acc": "$G", "_nats.mirror.domain": "site1",
                                "_nats.mirror.stream": "CMDS_M"}}


async def watch_creates(hub_nc) -> asyncio.Queue:
    """The consumer-create requests reaching the hub, one per deliver subject: a hub client sees them
    on the hub's domain API or, mapped, on `$JS.API`."""
    creates: asyncio.Queue = asyncio.Queue()
    deliver_subjects: set[str] = set()

    async def seen(message):
        request = json.loads(message.data)
        if request["config"]["deliver_subject"] not in deliver_subjects:
            deliver_subjects.add(request["config"]["deliver_subject"])
            await creates.put(request)

    for subject in (f"{HUB_API}.CONSUMER.CREATE.>", "$JS.API.CONSUMER.CREATE.>"):
        await hub_nc.subscribe(subject, cb=seen)
    await subscribed(hub_nc)
    return creates


async def mirror_two(hub_nc, edge_nc) -> None:
    await hub_nc.jetstream().add_stream(name="CMDS", subjects=["cmds.>"])
    await publish(hub_nc, 0, 2)
    await create(edge_nc, MIRROR)
    assert await edge_holds(edge_nc, "CMDS_M", 2) == hub_messages(0, 2)


@pytest.mark.parametrize("relayed", [EDGENATS_EDGE, REFERENCE_EDGE], indirect=True)
async def test_the_mirror_consumer_is_a_push_consumer_with_flow_control_and_heartbeats(relayed):
    pair, _ = relayed
    hub_nc, edge_nc = await connected(pair)
    creates = await watch_creates(hub_nc)
    await mirror_two(hub_nc, edge_nc)
    first = await asyncio.wait_for(creates.get(), WAIT)
    assert first["stream_name"] == "CMDS"
    assert first["config"]["deliver_policy"] == "all"
    assert first["config"]["deliver_subject"].startswith("$JS.M.")
    assert {key: first["config"][key] for key in CONSUMER_FIELDS} == CONSUMER_FIELDS
    for nc in (hub_nc, edge_nc):
        await nc.close()


# edgenats only: nats-server gives up a silent mirror consumer on its own, slower, clock (after a 4 s
# cut it resumes the consumer it had); what a user sees is the cut-link test above, on both.
@pytest.mark.parametrize("relayed", [EDGENATS_EDGE], indirect=True)
async def test_the_mirror_makes_a_new_consumer_when_the_link_stays_down(relayed):
    pair, cutter = relayed
    hub_nc, edge_nc = await connected(pair)
    creates = await watch_creates(hub_nc)
    await mirror_two(hub_nc, edge_nc)
    first = await asyncio.wait_for(creates.get(), WAIT)
    # Down longer than three missed heartbeats: the consumer is given up and, once the link is back,
    # made again from the last stored sequence + 1 on a new deliver subject.
    cutter.cut()
    await publish(hub_nc, 2, 2)
    await asyncio.sleep(4.0)  # the link stays down (no event to wait for: nothing crosses it)
    cutter.mend()
    assert await edge_holds(edge_nc, "CMDS_M", 4) == hub_messages(0, 4)
    again = await asyncio.wait_for(creates.get(), WAIT)
    assert (again["config"]["deliver_policy"], again["config"]["opt_start_seq"]) == ("by_start_sequence", 3)
    assert again["config"]["deliver_subject"].startswith("$JS.M.")
    assert again["config"]["deliver_subject"] != first["config"]["deliver_subject"]
    for nc in (hub_nc, edge_nc):
        await nc.close()


@pytest.mark.parametrize("relayed", [EDGENATS_EDGE, REFERENCE_EDGE], indirect=True)
async def test_the_edge_resumes_its_mirror_and_source_after_a_restart(relayed):
    pair, _ = relayed
    hub_nc, edge_nc = await connected(pair)
    await hub_nc.jetstream().add_stream(name="CMDS", subjects=["cmds.>"])
    await publish(hub_nc, 0, 2)
    await create(edge_nc, MIRROR)
    source = {"name": "CMDS", "external": {"api": HUB_API, "deliver": ""}}
    await create(edge_nc, {"name": "SITE", "sources": [source]})
    assert await edge_holds(edge_nc, "CMDS_M", 2) == hub_messages(0, 2)
    assert len(await edge_holds(edge_nc, "SITE", 2)) == 2
    # The edge stops; the hub stores on; the edge starts again on its store and takes up from there.
    await edge_nc.close()
    pair.leaf.stop()
    await publish(hub_nc, 2, 2)
    pair.start_leaf()
    _, edge_nc = await connected(pair)
    assert await edge_holds(edge_nc, "CMDS_M", 4) == hub_messages(0, 4)
    stored = await edge_holds(edge_nc, "SITE", 4)
    assert [(seq, subject, data) for seq, subject, data, _ in stored] == [
        (seq, subject, data) for seq, subject, data, _ in hub_messages(0, 4)]
    assert [int(headers["Nats-Stream-Source"].split()[1]) for *_, headers in stored] == [1, 2, 3, 4]
    for nc in (hub_nc, edge_nc):
        await nc.close()


@pytest.mark.parametrize("relayed", [EDGENATS_EDGE, REFERENCE_EDGE], indirect=True)
async def test_a_mirror_of_a_hub_stream_made_later_fills_once_it_exists(relayed):
    pair, _ = relayed
    hub_nc, edge_nc = await connected(pair)
    created = await create(edge_nc, MIRROR)
    assert created["mirror"]["active"] == -1
    await hub_nc.jetstream().add_stream(name="CMDS", subjects=["cmds.>"])
    await publish(hub_nc, 0, 2)
    assert await edge_holds(edge_nc, "CMDS_M", 2) == hub_messages(0, 2)
    for nc in (hub_nc, edge_nc):
        await nc.close()


@pytest.mark.parametrize("relayed", [EDGENATS_EDGE, REFERENCE_EDGE], indirect=True)
async def test_the_mirror_answers_flow_control_past_the_first_window(relayed):
    pair, _ = relayed
    hub_nc, edge_nc = await connected(pair)
    creates = await watch_creates(hub_nc)
    answers: asyncio.Future = asyncio.get_running_loop().create_future()

    async def answered(message):
        if not answers.done():
            answers.set_result(message.subject)

    # The edge's answers to the hub's flow-control requests go to their `$JS.FC.<stream>...` reply.
    await hub_nc.subscribe("$JS.FC.CMDS.>", cb=answered)
    await mirror_two(hub_nc, edge_nc)
    # 2.5 MiB: past the first 2 MiB window, so deliveries go on only if the edge answers.
    js = hub_nc.jetstream()
    for index in range(25):
        await js.publish("cmds.bulk", bytes([index]) * 100 * 1024)
    stored = await edge_holds(edge_nc, "CMDS_M", 27)
    assert [(seq, subject, len(data)) for seq, subject, data, _ in stored[2:]] == [
        (seq, "cmds.bulk", 100 * 1024) for seq in range(3, 28)]
    assert (await asyncio.wait_for(answers, WAIT)).startswith("$JS.FC.CMDS.")
    await creates.get()
    assert creates.empty()  # one consumer did it all: it never stalled
    for nc in (hub_nc, edge_nc):
        await nc.close()


async def mirror_state_at(edge_nc, stream: str, last_seq: int) -> tuple[dict, dict]:
    """(the mirror's state once its last sequence is `last_seq`, its messages by sequence)."""
    js = edge_nc.jetstream()
    async with asyncio.timeout(WAIT):
        while (state := (await stream_info(edge_nc, stream))["state"])["last_seq"] < last_seq:
            await asyncio.sleep(0.05)
    held = {}
    for seq in range(state["first_seq"], state["last_seq"] + 1):
        try:
            message = await js.get_msg(stream, seq)
        except nats.js.errors.NotFoundError:
            continue
        held[seq] = (message.subject, message.data)
    return state, held


@pytest.mark.parametrize("relayed", [EDGENATS_EDGE, REFERENCE_EDGE], indirect=True)
async def test_a_mirror_keeps_the_hub_sequences_past_messages_the_hub_dropped_meanwhile(relayed):
    """While the link is down the hub's limit drops messages the mirror never saw: the mirror skips
    their sequences, so what comes after is stored at the hub's sequences, now and later."""
    pair, cutter = relayed
    hub_nc, edge_nc = await connected(pair)
    await hub_nc.jetstream().add_stream(name="CMDS", subjects=["cmds.>"], max_msgs=3)
    await publish(hub_nc, 0, 2)
    await create(edge_nc, MIRROR)
    assert await edge_holds(edge_nc, "CMDS_M", 2) == hub_messages(0, 2)
    cutter.cut()
    await publish(hub_nc, 2, 4)  # the hub keeps seqs 4-6: seq 3 is gone before the mirror sees it
    cutter.mend()
    state, held = await mirror_state_at(edge_nc, "CMDS_M", 6)
    expected = {seq: (subject, data) for seq, subject, data, _ in hub_messages(0, 6) if seq != 3}
    assert held == expected
    assert (state["first_seq"], state["last_seq"], state["messages"]) == (1, 6, 5)
    await publish(hub_nc, 6, 1)
    state, held = await mirror_state_at(edge_nc, "CMDS_M", 7)
    assert held[7] == ("cmds.d0", b"c6") and state["last_seq"] == 7
    for nc in (hub_nc, edge_nc):
        await nc.close()
