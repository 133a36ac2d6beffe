"""The pull-request side of the consumer keys this work enforces, on both servers: the consumer's
request caps (max_batch, max_expires, max_bytes) answered 409 with the reference's texts, a
request's own byte budget (409 Message Size Exceeds MaxBytes / Batch Completed with the pending
headers, sizes counted as the reference counts them), and pull idle heartbeats."""

from __future__ import annotations

import json
import time

import pytest


@pytest.fixture
async def inbox(nc):
    js = nc.jetstream()
    await js.add_stream(name="P", subjects=["p.>"])
    for index in range(4):
        await js.publish(f"p.{index}", b"x" * 50)
    await nc.request("$JS.API.CONSUMER.CREATE.P.C", json.dumps({"stream_name": "P", "config": {
        "name": "C", "ack_policy": "explicit", "max_batch": 2, "max_expires": 1_500_000_000,
        "max_bytes": 300}}).encode(), timeout=2)
    subject = nc.new_inbox()
    return subject, await nc.subscribe(subject)


async def ask(nc, inbox, body: dict | bytes, consumer: str = "C") -> list:
    """One MSG.NEXT request; what arrives on its inbox up to and including the first status."""
    subject, sub = inbox
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    await nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.P.{consumer}", payload, reply=subject)
    answers = []
    while True:
        message = await sub.next_msg(timeout=2)
        if not message.headers or not message.headers.get("Status"):
            answers.append((message.subject, len(message.data)))
            continue
        answers.append({key: value for key, value in message.headers.items() if key != "Status"}
                       | {"Status": message.headers["Status"]})
        return answers


def status(code: str, description: str, **pending) -> dict:
    headers = {"Status": code, "Description": description}
    headers.update({f"Nats-Pending-{key.capitalize()}": str(value) for key, value in pending.items()})
    return headers


async def test_request_caps_are_refused_with_409(nc, inbox):
    assert await ask(nc, inbox, {"batch": 3}) == [status("409", "Exceeded MaxRequestBatch of 2")]
    assert await ask(nc, inbox, {"batch": 1, "expires": 2_000_000_000}) == [
        status("409", "Exceeded MaxRequestExpires of 1.5s")]
    assert await ask(nc, inbox, {"batch": 1, "expires": 500_000_000, "max_bytes": 400}) == [
        status("409", "Exceeded MaxRequestMaxBytes of 300")]


async def test_byte_budget_of_a_request(nc, inbox):
    # Each message counts its subject, ack reply, headers and body: 50 + 3 + 39 = 92 bytes here.
    assert await ask(nc, inbox, {"batch": 2, "expires": 300_000_000, "max_bytes": 100}) == [
        ("p.0", 50), status("409", "Message Size Exceeds MaxBytes", messages=1, bytes=8)]
    assert await ask(nc, inbox, {"batch": 2, "expires": 300_000_000, "max_bytes": 200}) == [
        ("p.1", 50), ("p.2", 50), status("409", "Batch Completed", messages=0, bytes=16)]


async def test_pull_heartbeats_and_bad_requests(nc, inbox):
    assert await ask(nc, inbox, {"batch": 2, "expires": 600_000_000, "idle_heartbeat": 400_000_000}) == [
        status("400", "Bad Request - heartbeat value too large")]
    await nc.request("$JS.API.CONSUMER.CREATE.P.H", json.dumps({"stream_name": "P", "config": {
        "name": "H", "ack_policy": "explicit"}}).encode(), timeout=2)
    started = time.monotonic()
    answers = await ask(nc, inbox, {"batch": 5, "expires": 600_000_000, "idle_heartbeat": 200_000_000}, "H")
    assert answers[:4] == [("p.0", 50), ("p.1", 50), ("p.2", 50), ("p.3", 50)]
    assert answers[4] == {"Status": "100", "Description": "Idle Heartbeat", "Nats-Last-Consumer": "4",
                          "Nats-Last-Stream": "4"}
    assert time.monotonic() - started >= 0.15
    subject, sub = inbox
    beats = 1
    while (ended := await sub.next_msg(timeout=2)).headers["Status"] == "100":
        beats += 1
    assert (ended.headers["Status"], ended.headers["Nats-Pending-Messages"]) == ("408", "1")
    assert 2 <= beats <= 3  # every 0.2 s of the 0.6 s the request lived
    malformed = await ask(nc, inbox, b"{bad", "H")
    assert malformed[0]["Status"] == "400" and malformed[0]["Description"].startswith("Bad Request")
