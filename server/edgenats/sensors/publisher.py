"""Readings to the broker, in the order they were taken, through one outbox per subject (so a stream
that refuses one sensor's readings holds up only that sensor's).

Each document goes out on its sensor's subject either as a core publish or through JetStream with
`Nats-Msg-Id: <node>-<sensor>-<boot id>-<seq>`, sent again with the same id until a PubAck comes (a
timeout, no responders while the broker restarts, an error answer), so a broker restart loses none and
the stream's duplicate window stores none twice. The `stream` setting picks the route: `never` core,
`always` JetStream, `auto` JetStream when the broker answers `$JS.API.INFO` and a stream captures the
subject (`$JS.API.STREAM.NAMES` by subject), else core; an auto decision is made again after
ROUTE_TTL_S, after a reconnect, and when a stream stops answering. A decision the broker did not
answer (a timeout, no connection) is no decision: the document waits.

Each outbox keeps at most OUTBOX_CAPACITY documents; past that the oldest is dropped and counted.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import time
from collections import deque
from dataclasses import dataclass

import nats.errors
from nats.aio.client import Client

OUTBOX_CAPACITY = 10_000
ACK_TIMEOUT_S = 1.0
ROUTE_TTL_S = 60.0
RETRY_FIRST_S = 0.2
RETRY_MAX_S = 5.0
MSG_ID = "Nats-Msg-Id"

log = logging.getLogger("edgenats.sensors")


class Route(enum.Enum):
    CORE = "core"
    STREAM = "stream"


class NotSent(Exception):
    """The head document did not reach the broker (or its store) this time; it is sent again."""


@dataclass(frozen=True)
class Outgoing:
    subject: str
    msg_id: str
    payload: bytes


class Outbox:
    """One subject's documents waiting to be sent, oldest first."""

    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.items: deque[Outgoing] = deque()
        self.ready = asyncio.Event()
        self.dropped = 0


class Publisher:
    def __init__(self, client: Client, mode: str, node: str, boot_id: str, subjects: list[str]) -> None:
        self.client = client
        self.mode = mode
        self.node = node
        self.boot_id = boot_id
        self._outboxes = {subject: Outbox(subject) for subject in subjects}
        self._routes: dict[str, tuple[Route, float]] = {}  # subject -> (route, decided at; 0: decide again)
        self._reconnects = 0

    def put(self, subject: str, document: dict) -> None:
        """Queue one document (it carries "sensor" and "seq") for its subject."""
        outbox = self._outboxes[subject]
        if len(outbox.items) >= OUTBOX_CAPACITY:
            outbox.items.popleft()
            outbox.dropped += 1
            if outbox.dropped == 1 or outbox.dropped % 1000 == 0:
                log.warning("outbox of %s full (%d readings): %d oldest dropped so far", subject, OUTBOX_CAPACITY,
                            outbox.dropped)
        msg_id = f"{self.node}-{document['sensor']}-{self.boot_id}-{document['seq']}"
        outbox.items.append(Outgoing(subject, msg_id, json.dumps(document).encode()))
        outbox.ready.set()

    def pending(self) -> int:
        return sum(len(outbox.items) for outbox in self._outboxes.values())

    async def run(self) -> None:
        """Send every outbox, each head first, forever; cancel the task to stop."""
        await asyncio.gather(*(self._drain(outbox) for outbox in self._outboxes.values()))

    async def _drain(self, outbox: Outbox) -> None:
        delay = RETRY_FIRST_S
        while True:
            if not outbox.items:
                outbox.ready.clear()
                await outbox.ready.wait()
                continue
            head = outbox.items[0]
            try:
                await self._send(head)
            except NotSent as reason:
                if delay == RETRY_FIRST_S:
                    log.warning("reading %s on %s not stored yet (%s); sending it again", head.msg_id,
                                head.subject, reason)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            if delay != RETRY_FIRST_S:
                log.info("reading %s on %s stored", head.msg_id, head.subject)
                delay = RETRY_FIRST_S
            if outbox.items and outbox.items[0] is head:
                outbox.items.popleft()

    async def flush(self, timeout: float) -> None:
        """Wait up to `timeout` for the outboxes to empty (at shutdown)."""
        deadline = time.monotonic() + timeout
        while self.pending() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def _send(self, item: Outgoing) -> None:
        route = await self._route(item.subject)
        if route is Route.CORE:
            try:
                await self.client.publish(item.subject, item.payload)
            except nats.errors.Error as error:
                raise NotSent(describe(error)) from None
            return
        try:
            answer = await self.client.request(item.subject, item.payload, timeout=ACK_TIMEOUT_S,
                                               headers={MSG_ID: item.msg_id})
        except nats.errors.NoRespondersError:
            if item.subject in self._routes:
                self._routes[item.subject] = (Route.STREAM, 0.0)
            raise NotSent("no stream answered") from None
        except (nats.errors.Error, TimeoutError) as error:
            raise NotSent(describe(error)) from None
        ack = parse_json(answer.data)
        if "error" in ack or "seq" not in ack:
            error = ack.get("error") or {}
            raise NotSent(f"the stream refused it: {error.get('description') or answer.data[:200]!r}")

    async def _route(self, subject: str) -> Route:
        if self.mode == "never":
            return Route.CORE
        if self.mode == "always":
            return Route.STREAM
        if self.client.stats["reconnects"] != self._reconnects:  # the broker may have another config now
            self._reconnects = self.client.stats["reconnects"]
            self._routes = {known: (route, 0.0) for known, (route, _) in self._routes.items()}
        known = self._routes.get(subject)
        if known and known[1] and time.monotonic() - known[1] < ROUTE_TTL_S:
            return known[0]
        route = await self._decide(subject)
        if known is None or known[0] is not route:
            log.info("readings on %s go %s", subject,
                     "through JetStream" if route is Route.STREAM else "out as core messages (no stream captures them)")
        self._routes[subject] = (route, time.monotonic())
        return route

    async def _decide(self, subject: str) -> Route:
        try:
            info = await self.client.request("$JS.API.INFO", b"", timeout=ACK_TIMEOUT_S)
            if "error" in parse_json(info.data):
                return Route.CORE
            names = await self.client.request("$JS.API.STREAM.NAMES", json.dumps({"subject": subject}).encode(),
                                              timeout=ACK_TIMEOUT_S)
        except nats.errors.NoRespondersError:
            return Route.CORE
        except (nats.errors.Error, TimeoutError) as error:
            raise NotSent(f"JetStream did not answer: {describe(error)}") from None
        return Route.STREAM if parse_json(names.data).get("streams") else Route.CORE


def parse_json(data: bytes) -> dict:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def describe(error: BaseException) -> str:
    return str(error) or type(error).__name__
