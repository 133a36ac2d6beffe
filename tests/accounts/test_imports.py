"""Stream and service imports between accounts, seen by nats.py clients in each account: streams
republished under a prefix or a mapped subject, requests answered across the account boundary,
no-responders when the exporting account has nobody serving, and a reload that changes imports."""

from __future__ import annotations

import asyncio
import json
import signal

import nats
import pytest
from nats.errors import NoRespondersError
from subscribed import subscribed

CONFIG = """
accounts {
  A { users: [{user: a, password: a}]
      exports: [ {stream: "a.>"}, {stream: "metrics.*.cpu"},
                 {service: "svc.>", accounts: [B]},
                 {service: "feed.>", response_type: stream} ] }
  B { users: [{user: b, password: b}]
      imports: [ {stream: {account: A, subject: "a.>"}, prefix: from_a},
                 {stream: {account: A, subject: "metrics.*.cpu"}, to: "cpu.*"},
                 {service: {account: A, subject: "svc.>"}, to: "local.svc.>"},
                 {service: {account: A, subject: "feed.>"}} ] }
}
"""


async def connect(server, user: str):
    return await nats.connect(f"nats://{user}:{user}@127.0.0.1:{server.port}", allow_reconnect=False)


@pytest.fixture
async def clients(server_kind, server_factory):
    server = server_factory(server_kind, CONFIG)
    a = await connect(server, "a")
    b = await connect(server, "b")
    yield a, b
    await a.close()
    await b.close()


async def test_stream_import_with_prefix(clients):
    a, b = clients
    subscription = await b.subscribe("from_a.>")
    await subscribed(b)
    message = await first_crossing(a, b, subscription, "a.temperature", b"21.5", headers={"Unit": "C"})
    assert (message.subject, message.data, message.headers) == ("from_a.a.temperature", b"21.5", {"Unit": "C"})


async def test_stream_import_with_to_maps_the_wildcards(clients):
    a, b = clients
    subscription = await b.subscribe("cpu.*")
    await subscribed(b)
    message = await first_crossing(a, b, subscription, "metrics.node7.cpu", b"93")
    assert (message.subject, message.data) == ("cpu.node7", b"93")


async def test_only_imported_subjects_cross_and_only_under_the_local_name(clients):
    a, b = clients
    everything = await b.subscribe(">")
    await subscribed(b)
    # nats-server on a loaded machine has let the first publish after B's flush go before the import
    # carried it: publish both again (the private one first) until the public one crosses.
    async with asyncio.timeout(10):
        while not everything.pending_msgs:
            await a.publish("private.x", b"secret")
            await a.publish("a.public", b"shared")
            await settled(a, b)
    crossed = [await everything.next_msg(timeout=1) for _ in range(everything.pending_msgs)]
    assert {(message.subject, message.data) for message in crossed} == {("from_a.a.public", b"shared")}
    # Publishing in B on the exporter's subject stays in B: imports flow one way.
    other_side = await a.subscribe(">")
    await subscribed(a)
    await b.publish("a.public", b"from b")
    await settled(b, a)
    assert (await everything.next_msg(timeout=5)).subject == "a.public"
    assert other_side.pending_msgs == 0


async def test_service_import_answers_cross_back_to_the_requester(clients):
    a, b = clients
    seen = []

    async def serve(message):
        seen.append((message.subject, message.headers))
        await a.publish(message.reply, b"answer:" + message.data)

    await a.subscribe("svc.>", cb=serve)
    await subscribed(a)
    reply = await b.request("local.svc.lookup", b"q1", timeout=5)
    assert reply.data == b"answer:q1"
    [(subject, headers)] = seen
    # The exporter sees its own subject, and which account asked.
    assert subject == "svc.lookup"
    assert json.loads(headers["Nats-Request-Info"])["acc"] == "B"


async def test_service_import_reply_subject_is_not_the_requesters_inbox(clients):
    a, b = clients
    replies = []

    async def serve(message):
        replies.append(message.reply)
        await a.publish(message.reply, b"ok")

    await a.subscribe("svc.>", cb=serve)
    await subscribed(a)
    inbox = b.new_inbox()
    subscription = await b.subscribe(inbox)
    await b.publish("local.svc.x", b"", reply=inbox)
    assert (await subscription.next_msg(timeout=5)).data == b"ok"
    assert replies[0].startswith("_R_.") and inbox not in replies[0]


async def test_singleton_service_delivers_one_answer_stream_service_all(clients):
    a, b = clients

    async def answer_three_times(message):
        for index in range(3):
            await a.publish(message.reply, b"part%d" % index)

    await a.subscribe("svc.>", cb=answer_three_times)
    await a.subscribe("feed.>", cb=answer_three_times)
    await subscribed(a)
    for subject, expected in (("local.svc.x", [b"part0"]), ("feed.x", [b"part0", b"part1", b"part2"])):
        inbox = b.new_inbox()
        subscription = await b.subscribe(inbox)
        # A second request on the same service shows that every answer sent before it was delivered.
        fence = await b.subscribe(inbox + ".fence")
        await b.publish(subject, b"", reply=inbox)
        await b.flush()
        received = [(await subscription.next_msg(timeout=5)).data for _ in expected]
        assert received == expected
        await b.publish(subject, b"", reply=inbox + ".fence")
        assert (await fence.next_msg(timeout=5)).data == b"part0"
        assert subscription.pending_msgs == 0, subject


async def test_no_responders_across_accounts(clients):
    _, b = clients
    with pytest.raises(NoRespondersError):
        await b.request("local.svc.nobody", b"anyone?", timeout=5)


async def test_a_stream_import_answers_for_no_one_until_the_importer_subscribes(clients):
    a, b = clients
    # A request in A that only a stream import would carry: nobody can answer it.
    with pytest.raises(NoRespondersError):
        await a.request("a.question", b"?", timeout=5)
    subscription = await b.subscribe("from_a.>")
    await subscribed(b)
    inbox = a.new_inbox()
    message = await first_crossing(a, b, subscription, "a.question", b"?", reply=inbox)
    # The reply subject travels unchanged with the message.
    assert (message.subject, message.reply) == ("from_a.a.question", inbox)


async def first_crossing(a, b, subscription, subject: str, data: bytes, headers: dict | None = None,
                         reply: str = ""):
    """The first message published in A on `subject` that reaches `subscription` in B: published again until
    one does (nats-server on a loaded machine has let the first publish after B's flush go before its import
    carried it)."""
    async with asyncio.timeout(10):
        while not subscription.pending_msgs:
            await a.publish(subject, data, reply=reply, headers=headers)
            await settled(a, b)
    return await subscription.next_msg(timeout=1)


async def settled(publisher, receiver) -> None:
    """Once this returns, everything `publisher` sent has been delivered to `receiver`'s subscriptions:
    the server routes a message before answering the publisher's PING, and writes it to the receiver
    before the PONG of the receiver's later PING."""
    await publisher.flush()
    await receiver.flush()


async def crosses(a, b, subscription) -> bool:
    """Publish once in A; whether it reached `subscription` in B."""
    await a.publish("a.reload", b"x")
    await settled(a, b)
    if not subscription.pending_msgs:
        return False
    await subscription.next_msg(timeout=1)
    return True


async def test_reload_applies_added_and_removed_imports(server_kind, server_factory):
    without_import = CONFIG.replace('{stream: {account: A, subject: "a.>"}, prefix: from_a},', "")
    server = server_factory(server_kind, without_import)
    a = await connect(server, "a")
    b = await connect(server, "b")
    try:
        subscription = await b.subscribe("from_a.>")
        assert not await crosses(a, b, subscription)
        for config, expected in ((CONFIG, True), (without_import, False)):
            server.config_path.write_text(config)
            server.process.send_signal(signal.SIGHUP)
            # The reload happens asynchronously (nats-server may drop a message while it re-registers the
            # imports): wait until it shows.
            deadline = asyncio.get_running_loop().time() + 10
            while (seen := await crosses(a, b, subscription)) != expected \
                    and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            assert seen == expected
        assert not (a.is_closed or b.is_closed)
    finally:
        await a.close()
        await b.close()
