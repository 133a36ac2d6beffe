"""Helpers for leaf links over WebSocket: waits for interest to cross a link, and the check that a
link carries requests, replies and headers both ways."""

from __future__ import annotations

import asyncio
import uuid

import nats
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from subscribed import subscribed

WAIT = 15.0


async def request_until_answered(nc, subject: str, payload: bytes = b""):
    """Interest crosses the link a moment after the link is up: ask until the far side answers."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        try:
            return await nc.request(subject, payload, timeout=0.5)
        except (NoRespondersError, NatsTimeout):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)


async def wait_for_interest(responder_nc, requester_nc) -> None:
    """Return once `requester_nc` reaches a probe subscribed now on `responder_nc`.

    Interest and messages cross a link in order: afterwards every subscription the responder's
    connection made before, and every message the requester's connection published before, has crossed.
    """
    subject = f"probe.{uuid.uuid4().hex}"

    async def answer(msg):
        await msg.respond(b"pong")

    subscription = await responder_nc.subscribe(subject, cb=answer)
    await subscribed(responder_nc)
    try:
        await request_until_answered(requester_nc, subject)
    finally:
        await subscription.unsubscribe()


async def assert_link_carries_messages(hub_url: str, leaf_url: str) -> None:
    hub_nc = await nats.connect(hub_url)
    leaf_nc = await nats.connect(leaf_url)
    try:
        async def hub_service(msg):
            await msg.respond(b"hub saw " + msg.data)

        async def leaf_service(msg):
            await leaf_nc.publish(msg.reply, b"leaf saw " + msg.data, headers={"X-Side": "leaf"})

        await hub_nc.subscribe("at.hub", cb=hub_service)
        await leaf_nc.subscribe("at.leaf", cb=leaf_service)
        assert (await request_until_answered(leaf_nc, "at.hub", b"up")).data == b"hub saw up"
        reply = await request_until_answered(hub_nc, "at.leaf", b"down")
        assert reply.data == b"leaf saw down"
        assert reply.headers == {"X-Side": "leaf"}
        big = bytes(range(256)) * 1024
        reply = await hub_nc.request("at.leaf", big, timeout=5)
        assert reply.data == b"leaf saw " + big
    finally:
        await hub_nc.close()
        await leaf_nc.close()
