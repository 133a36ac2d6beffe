"""A push consumer with a large backlog does not hold up the server (both servers): while it delivers
40,000 messages at once to a bound subscriber (a raw socket read in a thread, so the test's own loop
stays free), requests between two other clients are answered promptly (edgenats sends a backlog in
slices of its turn budget, flushed between loop turns)."""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import time

import nats
import nats.errors
from subscribed import subscribed

BACKLOG = 40_000


def raw_subscriber(port: int, subject: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.makefile("rb").readline()  # INFO
    sock.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\nSUB ' + subject.encode() + b" 1\r\nPING\r\n")
    reply = b""
    while b"PONG\r\n" not in reply:
        reply += sock.recv(4096)
    return sock


def count_messages(sock: socket.socket, count: int) -> None:
    """Read until `count` MSG lines arrived (the payloads hold no "MSG ")."""
    seen, tail = 0, b""
    while seen < count:
        chunk = sock.recv(1 << 20)
        assert chunk, "the server closed the subscriber"
        data = tail + chunk
        seen += data.count(b"MSG ")
        tail = data[-3:]


async def test_requests_are_answered_while_a_push_backlog_goes_out(js_server, nc):
    js = nc.jetstream()
    await js.add_stream(name="BIG", subjects=["big.>"])
    body = b"r" * 128
    for index in range(BACKLOG):
        await nc.publish(f"big.{index % 8}", body)
    await nc.flush()
    while (await js.stream_info("BIG")).state.messages < BACKLOG:
        await asyncio.sleep(0.05)
    responder = await nats.connect(js_server.url)
    requester = await nats.connect(js_server.url)

    async def pong(message):
        await responder.publish(message.reply, b"pong")

    await responder.subscribe("svc.ping", cb=pong)
    await subscribed(responder)
    # The first answered request: the responder is known and the reply inbox set up from here on (nats-server
    # under a loaded machine has answered a request right after the responder's flush with no-responders).
    async with asyncio.timeout(10):
        while True:
            try:
                await requester.request("svc.ping", b"", timeout=2)
                break
            except nats.errors.NoRespondersError:
                await asyncio.sleep(0.05)
    subscriber = raw_subscriber(js_server.port, "deliver.big")
    delivered = asyncio.ensure_future(asyncio.to_thread(count_messages, subscriber, BACKLOG))

    await nc.request("$JS.API.CONSUMER.CREATE.BIG", json.dumps({"stream_name": "BIG", "config": {
        "deliver_subject": "deliver.big", "ack_policy": "none"}}).encode(), timeout=5)
    round_trips = []
    while not delivered.done():
        asked = time.monotonic()
        assert (await requester.request("svc.ping", b"", timeout=5)).data == b"pong"
        round_trips.append(time.monotonic() - asked)
    await delivered
    subscriber.close()
    # The median: one round trip may still meet a busy machine's scheduler; a server that sent the
    # whole backlog in one loop turn answers nothing for seconds.
    assert statistics.median(round_trips) < 0.15, round_trips
    for client in (responder, requester):
        await client.close()
