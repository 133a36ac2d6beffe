"""Requests written back to back across a service import, each with its own reply (as async requests
leave a client), on both servers: each gets its own answer when the exporting account serves them, and
each its own no-responders status when nobody does."""

from __future__ import annotations

import asyncio

import nats
import pytest
from request_runs import RawRequester
from subscribed import subscribed

CONFIG = """
accounts {
  A { users: [{user: a, password: a}], exports: [ {service: "svc.>", accounts: [B]} ] }
  B { users: [{user: b, password: b}], imports: [ {service: {account: A, subject: "svc.>"}, to: "local.svc.>"} ] }
}
"""
COUNT = 50


@pytest.fixture
def accounts_server(server_kind, server_factory):
    return server_factory(server_kind, CONFIG)


async def test_a_run_of_requests_across_an_import_gets_each_answer(accounts_server):
    exporter = await nats.connect(f"nats://a:a@127.0.0.1:{accounts_server.port}", allow_reconnect=False)

    async def serve(message):
        await exporter.publish(message.reply, b"answer:" + message.data)

    await exporter.subscribe("svc.>", cb=serve)
    await subscribed(exporter)
    requester = RawRequester(accounts_server.port, user="b")
    try:
        requester.send_run("local.svc.lookup", [b"q%d" % index for index in range(COUNT)])
        # (read on a thread: the exporter answers on this event loop meanwhile)
        frames = await asyncio.to_thread(requester.frames, COUNT)
        answers = sorted(frames, key=lambda frame: int(frame[0].rsplit(".", 1)[1]))
    finally:
        requester.close()
        await exporter.close()

    assert answers == [(f"_INBOX.run.{index}", None, b"answer:q%d" % index) for index in range(COUNT)]


async def test_a_run_of_requests_nobody_serves_gets_a_no_responders_status_each(accounts_server):
    requester = RawRequester(accounts_server.port, user="b")
    try:
        requester.send_run("local.svc.nobody", [b"anyone?"] * COUNT)
        statuses = requester.frames(COUNT)
    finally:
        requester.close()

    assert sorted(subject for subject, _, _ in statuses) == sorted(f"_INBOX.run.{index}" for index in range(COUNT))
    assert {(headers.split(b"\r\n")[0], payload) for _, headers, payload in statuses} == {(b"NATS/1.0 503", b"")}
