"""Leaf-node test helpers: config snippets for a hub and a leaf, polling waits for interest and
messages to cross the link, reading a monitoring endpoint until it shows a state, and a TCP relay
that cuts a link on demand (`LinkCutter`)."""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid

from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from subscribed import subscribed

WAIT = 15.0


def hub_config(name: str, leaf_port: int, leaf_block: str = "", extra: str = "") -> str:
    return f"server_name: {name}\nleafnodes {{\n  listen: \"127.0.0.1:{leaf_port}\"\n{leaf_block}\n}}\n{extra}\n"


def leaf_config(name: str, remote: str, extra: str = "") -> str:
    return f"server_name: {name}\nleafnodes {{\n  remotes = [ {{ {remote} }} ]\n}}\n{extra}\n"


async def wait_for_interest(responder_nc, requester_nc, timeout: float = WAIT) -> None:
    """Poll until `requester_nc` reaches a responder subscribed now on `responder_nc`.

    Interest crosses a link in order, so once this probe is reachable, every subscription the
    responder's side made before it is known on the other side too.
    """
    subject = f"probe.{uuid.uuid4().hex}"

    async def answer(msg):
        await msg.respond(b"pong")

    subscription = await responder_nc.subscribe(subject, cb=answer)
    await subscribed(responder_nc)
    try:
        await request_until_answered(requester_nc, subject, timeout)
    finally:
        await subscription.unsubscribe()


async def request_until_answered(nc, subject: str, timeout: float = WAIT, payload: bytes = b"", headers=None):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            return await nc.request(subject, payload, timeout=0.5, headers=headers)
        except (NoRespondersError, NatsTimeout):
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.05)


async def wait_for_no_interest(nc, subject: str, timeout: float = WAIT) -> None:
    """Poll until a request on `subject` from `nc` gets the 503 (the interest has gone)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            await nc.request(subject, b"", timeout=0.5)
        except NoRespondersError:
            return
        except NatsTimeout:
            pass
        if loop.time() > deadline:
            raise AssertionError(f"interest in {subject} still present after {timeout}s")
        await asyncio.sleep(0.05)


async def wait_count(received: list, count: int, timeout: float = WAIT) -> None:
    """Poll until `received` holds at least `count` items."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(received) < count and loop.time() < deadline:
        await asyncio.sleep(0.01)
    assert len(received) >= count, f"got {len(received)} of {count} messages"


def monitor_get(http_port: int, path: str) -> dict:
    """A monitoring endpoint's JSON document, e.g. monitor_get(port, "/leafz")."""
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}{path}", timeout=5) as response:
        return json.loads(response.read())


async def poll_monitor(http_port: int, path: str, predicate, timeout: float = WAIT) -> dict:
    """The endpoint's document once `predicate` holds (or the last one at the deadline)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            document = await asyncio.to_thread(monitor_get, http_port, path)
        except OSError:
            # The monitoring port may open a moment after the client port the fixture waited for.
            if loop.time() > deadline:
                raise
        else:
            if predicate(document) or loop.time() > deadline:
                return document
        await asyncio.sleep(0.05)


class LinkCutter:
    """A TCP relay the edge dials instead of the hub's leaf port; `cut()` drops the relayed link and
    refuses new ones until `mend()`."""

    def __init__(self) -> None:
        self.target_port = 0
        self.open = True
        self._server: asyncio.base_events.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open:
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers += [writer, up_writer]
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()

    def cut(self) -> None:
        self.open = False
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    def mend(self) -> None:
        self.open = True

    async def stop(self) -> None:
        self.cut()
        self._server.close()
        await self._server.wait_closed()
