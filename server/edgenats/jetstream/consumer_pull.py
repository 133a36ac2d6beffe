"""The pull side of a consumer: `CONSUMER.MSG.NEXT` requests parsed and checked against the consumer's
request caps, the FIFO of waiting requests (batch, byte budget, expiry, idle heartbeats) and every
status line the reference sends on a request's inbox (400/404/408/409). The consumer's delivery core
asks it where the next message goes (`target`) and tells it what went (`sent`)."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edgenats.monitor.formats import go_duration

if TYPE_CHECKING:
    from collections.abc import Callable

    from edgenats.account import Account

NO_MESSAGES = b"NATS/1.0 404 No Messages\r\n\r\n"
EXCEEDED_MAX_WAITING = b"NATS/1.0 409 Exceeded MaxWaiting\r\n\r\n"
CONSUMER_DELETED = b"NATS/1.0 409 Consumer Deleted\r\n\r\n"
PUSH_BASED = b"NATS/1.0 409 Consumer is push based\r\n\r\n"


def status(code: int, text: str) -> bytes:
    return f"NATS/1.0 {code} {text}\r\n\r\n".encode()


def with_pending(code: int, text: str, messages: int, size: int) -> bytes:
    return (f"NATS/1.0 {code} {text}\r\nNats-Pending-Messages: {messages}\r\n"
            f"Nats-Pending-Bytes: {size}\r\n\r\n").encode()


def heartbeat(last_cseq: int, last_sseq: int, stalled: str | None = None) -> bytes:
    """`100 Idle Heartbeat` naming the last delivery (and the flow-control reply a push consumer waits for)."""
    text = f"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: {last_cseq}\r\nNats-Last-Stream: {last_sseq}\r\n"
    if stalled:
        text += f"Nats-Consumer-Stalled: {stalled}\r\n"
    return (text + "\r\n").encode()


class BadPullRequest(ValueError):
    """A request answered `400 Bad Request - <why>` (or plain `400 Bad Request`)."""


@dataclass(slots=True)
class PullRequest:
    reply: str
    batch: int
    expires_ns: int = 0  # request lifetime; 0 = until the requester's interest goes
    no_wait: bool = False
    max_bytes: int = 0  # byte budget left; 0 = none
    heartbeat_ns: int = 0
    sent: int = 0
    timer: asyncio.TimerHandle | None = None
    beat: asyncio.TimerHandle | None = None


def parse(payload: bytes) -> PullRequest:
    """A MSG.NEXT body: empty is one message, a bare integer a batch size, else a JSON object (anything
    else is one message, as the reference reads it); the reply is filled in by the caller."""
    text = payload.strip()
    if not text.startswith(b"{"):
        return PullRequest("", int(text) if text.isdigit() else 1)
    try:
        body = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise BadPullRequest("") from None
    if not isinstance(body, dict):
        raise BadPullRequest("")
    values = [body.get(key) or 0 for key in ("batch", "expires", "max_bytes", "idle_heartbeat")]
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in values):
        raise BadPullRequest("")
    batch, expires, max_bytes, beat = values
    if beat > 0 and beat * 2 > expires:
        raise BadPullRequest("heartbeat value too large")
    return PullRequest("", batch or 1, max(expires, 0), body.get("no_wait") is True, max(max_bytes, 0), max(beat, 0))


class PullSink:
    """Waiting requests, oldest first; each message goes to one request."""

    def __init__(self, account: Account, config: dict, last: Callable[[], tuple[int, int]],
                 pending: Callable[[], int]) -> None:
        """`last()` is (delivered consumer seq, stream seq) for heartbeats, `pending()` how many messages
        are deliverable now."""
        self.account = account
        self.config = config
        self._last = last
        self._pending = pending
        self.waiting: deque[PullRequest] = deque()

    def _answer(self, reply: str, headers: bytes) -> None:
        self.account.publish_internal(reply, b"", headers=headers)

    def add(self, reply: str, payload: bytes) -> bool:
        """A MSG.NEXT request (or the rest of a +NXT ack); True when it was queued."""
        try:
            request = parse(payload)
        except BadPullRequest as bad:
            self._answer(reply, status(400, f"Bad Request - {bad}" if str(bad) else "Bad Request"))
            return False
        request.reply = reply
        config = self.config
        if 0 < config.get("max_batch", 0) < request.batch:
            self._answer(reply, status(409, f"Exceeded MaxRequestBatch of {config['max_batch']}"))
            return False
        if request.expires_ns and 0 < config.get("max_expires", 0) < request.expires_ns:
            self._answer(reply, status(409, "Exceeded MaxRequestExpires of "
                                            f"{go_duration(config['max_expires'] / 1e9)}"))
            return False
        if request.max_bytes and 0 < config.get("max_bytes", 0) < request.max_bytes:
            self._answer(reply, status(409, f"Exceeded MaxRequestMaxBytes of {config['max_bytes']}"))
            return False
        if len(self.waiting) >= config["max_waiting"]:
            if not request.heartbeat_ns:
                self._answer(reply, EXCEEDED_MAX_WAITING)
            return False
        if request.no_wait and not request.expires_ns and not self._pending():
            self._answer(reply, NO_MESSAGES)
            return False
        loop = asyncio.get_running_loop()
        if request.expires_ns:
            request.timer = loop.call_later(request.expires_ns / 1e9, self._expire, request)
        if request.heartbeat_ns:
            request.beat = loop.call_later(request.heartbeat_ns / 1e9, self._beat, request)
        self.waiting.append(request)
        return True

    # the delivery core's questions ---------------------------------------------------------------

    def ready(self) -> bool:
        """Whether a request is waiting (requests whose requester went away are dropped silently)."""
        while self.waiting and not self.account.has_interest(self.waiting[0].reply):
            self._finish(self.waiting[0], None)
        return bool(self.waiting)

    def target(self, size: int) -> str | None:
        """The inbox the next message (of `size` bytes) goes to, asked right after `ready()`; a request
        whose byte budget it exceeds ends with `409 Message Size Exceeds MaxBytes`."""
        while self.waiting:
            request = self.waiting[0]
            if request.max_bytes and size > request.max_bytes:
                self._finish(request, with_pending(409, "Message Size Exceeds MaxBytes", request.batch,
                                                   request.max_bytes))
                self.ready()
                continue
            return request.reply
        return None

    def sent(self, size: int) -> None:
        """The head request got a message: its batch (and byte budget) shrink; done when used up."""
        request = self.waiting[0]
        request.batch -= 1
        request.sent += 1
        if request.max_bytes:
            request.max_bytes -= size
            if request.max_bytes == 0:
                request.batch = 0
        if request.batch <= 0:
            left = request.max_bytes
            self._finish(request, with_pending(409, "Batch Completed", 0, left) if left > 0 else None)
        elif request.beat is not None:
            request.beat.cancel()
            request.beat = asyncio.get_running_loop().call_later(request.heartbeat_ns / 1e9, self._beat, request)

    def drained(self) -> None:
        """Nothing more is deliverable now: no_wait requests end, unless one with an expiry got
        nothing yet (it then waits, as the reference does)."""
        for request in [r for r in self.waiting if r.no_wait and (r.sent or not r.expires_ns)]:
            self._finish(request, NO_MESSAGES)

    def busy(self) -> bool:
        """Keeps an idle consumer alive: a request still waiting."""
        return self.ready()

    def stop(self) -> None:
        while self.waiting:
            self._finish(self.waiting[0], CONSUMER_DELETED)

    # timers --------------------------------------------------------------------------------------

    def _expire(self, request: PullRequest) -> None:
        request.timer = None
        if request in self.waiting:
            self._finish(request, with_pending(408, "Request Timeout", request.batch, request.max_bytes))

    def _beat(self, request: PullRequest) -> None:
        request.beat = None
        if request not in self.waiting:
            return
        self._answer(request.reply, heartbeat(*self._last()))
        request.beat = asyncio.get_running_loop().call_later(request.heartbeat_ns / 1e9, self._beat, request)

    def _finish(self, request: PullRequest, headers: bytes | None) -> None:
        self.waiting.remove(request)
        for timer in (request.timer, request.beat):
            if timer is not None:
                timer.cancel()
        request.timer = request.beat = None
        if headers is not None:
            self._answer(request.reply, headers)
