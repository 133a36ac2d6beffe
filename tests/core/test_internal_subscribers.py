"""Internal subscribers: services inside the server receive and publish through the account's one
routing path, as clients do, and real nats-py clients see no difference."""

from __future__ import annotations

import asyncio

import nats
import pytest
from inprocess import running_server, url
from nats.errors import NoRespondersError
from subscribed import subscribed


class Inbox:
    """An internal callback that records what it got and lets the test await it."""

    def __init__(self) -> None:
        self.received: asyncio.Queue = asyncio.Queue()

    def __call__(self, subject, reply, headers, payload) -> None:
        self.received.put_nowait((subject, reply, headers, payload))

    async def next(self):
        return await asyncio.wait_for(self.received.get(), 5)


async def test_a_clients_message_reaches_an_internal_subscriber_decoded():
    async with running_server() as server:
        inbox = Inbox()
        server.global_account.subscribe_internal("sensors.>", inbox)
        nc = await nats.connect(url(server))
        await nc.publish("sensors.t1", b"21.5")
        await nc.publish("sensors.t2", b"22", reply="answers.1", headers={"Unit": "C", "unit": "c"})
        await nc.flush()
        assert await inbox.next() == ("sensors.t1", None, None, b"21.5")
        subject, reply, headers, payload = await inbox.next()
        assert (subject, reply, payload) == ("sensors.t2", "answers.1", b"22")
        assert headers.startswith(b"NATS/1.0\r\n") and headers.endswith(b"\r\n\r\n")
        assert b"Unit: C\r\n" in headers and b"unit: c\r\n" in headers
        await nc.close()


async def test_an_internal_publish_reaches_clients_with_headers():
    async with running_server() as server:
        nc = await nats.connect(url(server))
        sub = await nc.subscribe("events.>")
        await subscribed(nc)
        count = server.global_account.publish_internal("events.boot", b"up", reply="r.1",
                                                       headers=b"NATS/1.0\r\nSource: edge\r\n\r\n")
        assert count == 1
        msg = await sub.next_msg(timeout=5)
        assert (msg.subject, msg.reply, msg.data, msg.headers) == ("events.boot", "r.1", b"up", {"Source": "edge"})
        await nc.close()


async def test_a_message_for_an_inbox_can_be_shown_on_another_subject():
    async with running_server() as server:
        account = server.global_account
        inbox = Inbox()
        account.subscribe_internal("_INBOX.pull", inbox)
        nc = await nats.connect(url(server))
        sub = await nc.subscribe("_INBOX.pull")
        group = await nc.subscribe("_INBOX.pull", queue="workers")
        stored = await nc.subscribe("orders.>")
        await subscribed(nc)
        count = account.publish_internal_as("_INBOX.pull", "orders.1", b"one", reply="$JS.ACK.x",
                                            headers=b"NATS/1.0\r\nSource: edge\r\n\r\n")
        assert count == 3
        for receiver in (sub, group):
            msg = await receiver.next_msg(timeout=5)
            assert (msg.subject, msg.reply, msg.data, msg.headers) == ("orders.1", "$JS.ACK.x", b"one",
                                                                       {"Source": "edge"})
        assert (await inbox.next())[:2] == ("orders.1", "$JS.ACK.x")
        assert account.publish_internal_as("_INBOX.nobody", "orders.2", b"two") == 0
        with pytest.raises(nats.errors.TimeoutError):
            await stored.next_msg(timeout=0.2)  # the stored subject's own subscribers are not reached
        await nc.close()


async def test_a_service_inside_the_server_answers_a_clients_request():
    async with running_server() as server:
        account = server.global_account

        def echo_upper(subject, reply, headers, payload):
            account.publish_internal(reply, payload.upper())

        account.subscribe_internal("svc.upper", echo_upper)
        nc = await nats.connect(url(server))
        answer = await nc.request("svc.upper", b"hello", timeout=5)
        assert answer.data == b"HELLO"
        await nc.close()


async def test_an_internal_queue_member_shares_the_group_with_clients():
    async with running_server() as server:
        got = {"internal": [], "client": []}
        all_in = asyncio.Event()

        def record(kind, data):
            got[kind].append(data)
            if len(got["internal"]) + len(got["client"]) == 200:
                all_in.set()

        async def client_member(msg):
            record("client", msg.data)

        server.global_account.subscribe_internal("work", lambda s, r, h, p: record("internal", p), queue="workers")
        nc = await nats.connect(url(server))
        await nc.subscribe("work", queue="workers", cb=client_member)
        await subscribed(nc)
        for n in range(200):
            await nc.publish("work", b"%d" % n)
        await asyncio.wait_for(all_in.wait(), 5)
        await nc.flush()  # a message delivered twice would have arrived by now
        assert sorted(got["internal"] + got["client"], key=int) == [b"%d" % n for n in range(200)]
        assert got["internal"] and got["client"]
        await nc.close()


async def test_a_request_only_an_internal_subscriber_hears_is_not_answered_no_responders():
    async with running_server() as server:
        inbox = Inbox()
        sub = server.global_account.subscribe_internal("quiet", inbox)
        nc = await nats.connect(url(server))
        with pytest.raises(nats.errors.TimeoutError):
            await nc.request("quiet", b"?", timeout=0.5)
        assert (await inbox.next())[0] == "quiet"
        server.global_account.unsubscribe_internal(sub)
        with pytest.raises(NoRespondersError):
            await nc.request("quiet", b"?", timeout=5)
        await nc.close()


async def test_an_internal_subscription_made_after_the_subject_was_cached_gets_the_next_messages():
    async with running_server() as server:
        nc = await nats.connect(url(server))
        await nc.publish("late.subject", b"before")
        await nc.flush()
        inbox = Inbox()
        server.global_account.subscribe_internal("late.*", inbox)
        await nc.publish("late.subject", b"after")
        await nc.flush()
        assert (await inbox.next())[3] == b"after"
        assert inbox.received.empty()
        await nc.close()


async def test_a_failing_callback_does_not_hurt_the_publisher_or_other_receivers():
    async with running_server() as server:
        def broken(subject, reply, headers, payload):
            raise RuntimeError("bug in a service")

        server.global_account.subscribe_internal("shared", broken)
        nc = await nats.connect(url(server))
        sub = await nc.subscribe("shared")
        for n in range(3):
            await nc.publish("shared", b"%d" % n)
        got = [(await sub.next_msg(timeout=5)).data for _ in range(3)]
        assert got == [b"0", b"1", b"2"]
        assert nc.is_connected
        await nc.close()


async def test_a_run_of_identical_frames_reaches_internal_and_socket_receivers_alike():
    async with running_server() as server:
        inbox = Inbox()
        server.global_account.subscribe_internal("telemetry", inbox)
        nc = await nats.connect(url(server))
        sub = await nc.subscribe("telemetry")
        await subscribed(nc)
        for _ in range(50):  # nats-py coalesces these into one write: the parser sees a run
            await nc.publish("telemetry", b"same")
        await nc.flush()
        for _ in range(50):
            assert (await inbox.next())[3] == b"same"
            assert (await sub.next_msg(timeout=5)).data == b"same"
        await nc.close()
