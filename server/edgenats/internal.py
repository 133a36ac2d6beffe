"""Receivers inside the server: a subscriber with a callback instead of a socket.

The JetStream API, `$SYS` responders, service and stream imports subscribe through an account exactly
as a client does, and the account's one routing path hands them each message as
`callback(subject, reply, headers, payload)`: subject and reply as text, the raw `NATS/1.0` header
block (or None) and the payload as bytes. No wire frame is built for them and none is parsed.
A callback that passes the message on (an import) returns how many receivers got it there, so that
a request nobody answers gets its no-responders status; any other return counts as one receiver.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("edgenats")

InternalCallback = Callable[[str, "str | None", "bytes | None", bytes], "int | None"]


class InternalSubscriber:
    """The target of one internal subscription; the delivery plan keeps these apart from sockets."""

    __slots__ = ("callback", "name")

    # What delivery plans ask of every target.
    leaf_link = False
    internal = True
    headers = True
    user = None
    reply_allowance = None
    closed = False

    def __init__(self, callback: InternalCallback, name: str = "") -> None:
        self.callback = callback
        self.name = name or getattr(callback, "__qualname__", "internal")

    def receive(self, subject: bytes, reply: bytes | None, header_size: int, size: int,
                payload_crlf: memoryview) -> int:
        """One message, decoded for the callback; a failing callback is logged, never the publisher's problem.
        Returns how many receivers the message counts for."""
        if header_size < 0:
            headers, payload = None, bytes(payload_crlf[:size])
        else:
            headers, payload = bytes(payload_crlf[:header_size]), bytes(payload_crlf[header_size:size])
        try:
            passed_on = self.callback(subject.decode("latin-1"), reply.decode("latin-1") if reply is not None else None,
                                      headers, payload)
        except Exception:
            log.exception("internal subscriber %s failed on %s", self.name, subject.decode("latin-1"))
            return 1
        return passed_on if isinstance(passed_on, int) else 1

    def receive_requests(self, subject: bytes, size: int, replies: list[bytes], payloads: list[memoryview]) -> set[int]:
        """A run of messages without headers on one subject, each with a reply, as `receive` takes them
        one by one; the indexes of those that counted for no receiver."""
        subject_text = subject.decode("latin-1")
        callback = self.callback
        missed: set[int] = set()
        for index, reply in enumerate(replies):
            try:
                passed_on = callback(subject_text, reply.decode("latin-1"), None, bytes(payloads[index][:size]))
            except Exception:
                log.exception("internal subscriber %s failed on %s", self.name, subject_text)
                continue
            if isinstance(passed_on, int) and not passed_on:
                missed.add(index)
        return missed

    def describe(self) -> str:
        return f"internal:{self.name}"
