"""The bridge's NATS side: publishing a board's line so that it is acknowledged only once the broker (or the
stream) has it, and subscribing for the board.

A line for a subject a stream captures is sent as a JetStream publish (a request; the board's headers, its
`Nats-Msg-Id` among them, go along, so a line sent again is stored once) and acknowledged with the PubAck;
any other is published and acknowledged after the PONG of the flush that follows it. Which subjects a stream
captures is the `stream` setting's answer: `never`, `always`, or `auto`, which asks the broker
(`$JS.API.INFO`, then `$JS.API.STREAM.NAMES` filtered by the subject) and keeps the answer a few seconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

ACK_TIMEOUT_S = 2.0
CAPTURE_TTL_S = 5.0  # how long an answer about a subject's stream is kept


@dataclass(frozen=True)
class Outcome:
    """What became of a line: acked (with the PubAck's JSON for a stream, else empty) or why not."""

    acked: bool
    detail: bytes | str = b""


class Relay:
    def __init__(self, nc: Client, stream: str):
        self.nc = nc
        self.stream = stream
        self._captured: dict[str, tuple[float, bool]] = {}

    async def publish(self, subject: str, reply: str | None, headers: dict[str, str] | None,
                      payload: bytes) -> Outcome:
        if not self.nc.is_connected:
            return Outcome(False, "broker")  # nothing is queued in the client to go out twice later
        try:
            if reply is None and await self._captures(subject):
                try:
                    answer = await self.nc.request(subject, payload, timeout=ACK_TIMEOUT_S, headers=headers)
                except NoRespondersError:
                    self._captured.pop(subject, None)
                    return Outcome(False, "nostream")
                return Outcome(True, answer.data)
            await self.nc.publish(subject, payload, reply=reply or "", headers=headers)
            await self.nc.flush(timeout=ACK_TIMEOUT_S)
        except (NatsTimeout, TimeoutError):
            return Outcome(False, "timeout")
        except NatsError as error:
            return Outcome(False, type(error).__name__)
        return Outcome(True)

    async def subscribe(self, subject: str, queue: str | None,
                        deliver: Callable[[Msg], Awaitable[None]]) -> Subscription:
        subscription = await self.nc.subscribe(subject, queue=queue or "", cb=deliver)
        await self.nc.flush(timeout=ACK_TIMEOUT_S)
        return subscription

    async def _captures(self, subject: str) -> bool:
        if self.stream != "auto":
            return self.stream == "always"
        now = time.monotonic()
        known = self._captured.get(subject)
        if known is not None and known[0] > now:
            return known[1]
        captured = await self._ask_captured(subject)
        self._captured[subject] = (now + CAPTURE_TTL_S, captured)
        return captured

    async def _ask_captured(self, subject: str) -> bool:
        try:
            info = json.loads((await self.nc.request("$JS.API.INFO", b"", timeout=ACK_TIMEOUT_S)).data)
            if "error" in info:
                return False
            names = await self.nc.request("$JS.API.STREAM.NAMES", json.dumps({"subject": subject}).encode(),
                                          timeout=ACK_TIMEOUT_S)
        except NoRespondersError:
            return False  # no JetStream here
        answer = json.loads(names.data)
        return bool(answer.get("streams"))
