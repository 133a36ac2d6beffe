"""Parser for the leafnode protocol (both directions of a leaf link), an explicit two-state machine.

States:
  CONTROL_LINE  waiting for a complete operation line ending in `\\n`
  PAYLOAD       an LMSG/HMSG control line was read; waiting for `size + 2` bytes (payload + CRLF)

Verbs: INFO, CONNECT, LS+, LS-, LMSG, HMSG, PING, PONG, +OK, -ERR (any case). Payloads are handed
over as memoryview slices that include the trailing CRLF, as in the client parser. Argument errors
follow nats-server: a queue LS+ without a weight, an LMSG whose reply/queue marker is not `+` or `|`,
or any unknown verb closes the link.
"""

from __future__ import annotations

from typing import Protocol

from edgenats.protocol.client_parser import parse_json_argument, parse_size, split_arguments
from edgenats.protocol.errors import (
    ControlLineTooLong,
    MalformedArguments,
    PayloadTooLarge,
    UnknownOperation,
)
from edgenats.protocol.pending_input import CONTROL_LINE, CRLF, PAYLOAD, VERB_ALLOWANCE, PendingInput

# Client verbs on a leaf link: nats-server closes without an -ERR.
_CLIENT_VERBS = frozenset((b"PUB", b"HPUB", b"SUB", b"UNSUB"))


class LeafOperationHandler(Protocol):
    def on_info(self, info: dict) -> None: ...
    def on_connect(self, options: dict) -> None: ...
    def on_leaf_sub(self, subject: bytes, queue: bytes | None, weight: int) -> None: ...
    def on_leaf_unsub(self, subject: bytes, queue: bytes | None) -> None: ...
    def on_leaf_msg(
        self, subject: bytes, reply: bytes | None, queues: list[bytes] | None, header_size: int, size: int,
        payload_crlf: memoryview,
    ) -> None: ...
    def on_ping(self) -> None: ...
    def on_pong(self) -> None: ...
    def on_peer_error(self, text: str) -> None: ...
    def on_unexpected_first_operation(self) -> None: ...


class LeafProtocolParser(PendingInput):
    """Turns leaf-link bytes into handler calls; raises a ProtocolViolation on bad input."""

    def __init__(self, handler: LeafOperationHandler, max_control_line: int, max_payload: int) -> None:
        super().__init__()
        self.handler = handler
        self.max_control_line = max_control_line
        self.max_payload = max_payload
        # Accepting side before CONNECT: any other operation is an authorization violation.
        self.connect_required = False
        self._message: tuple | None = None
        # While paused, input is held (not parsed) and parsed on resume.
        self._held: list[bytes] | None = None

    def pause(self) -> None:
        """Hold input until `resume` (while a TLS upgrade replaces the transport)."""
        self._held = []

    def resume(self) -> None:
        held, self._held = self._held or [], None
        for data in held:
            self.feed(data)

    def feed(self, data: bytes) -> None:
        if self._stopped:
            return
        if self._held is not None:
            self._held.append(data)
            return
        position = self._resume(data) if self._pending else 0
        if position >= 0:
            self._parse(data, position)

    def _parse(self, data: bytes, position: int) -> None:
        buffer = memoryview(data)
        end = len(data)
        while position < end and not self._stopped:
            if self._state == PAYLOAD:
                needed = self._needed
                if end - position < needed:
                    self._keep(data, position, needed)
                    return
                stop = position + needed
                if data[stop - 2 : stop] != CRLF:
                    raise UnknownOperation("payload not followed by CRLF")
                subject, reply, queues, header_size, size = self._message
                self._state = CONTROL_LINE
                self.handler.on_leaf_msg(subject, reply, queues, header_size, size, buffer[position:stop])
                position = stop
                continue
            newline = data.find(b"\n", position)
            if newline < 0:
                if end - position > self.max_control_line + VERB_ALLOWANCE:
                    raise ControlLineTooLong()
                self._keep(data, position, end - position + 1)
                return
            line_end = newline - 1 if newline > position and data[newline - 1] == 13 else newline
            if data.startswith(b"LMSG ", position) and not self.connect_required:
                # The common message form, `LMSG <subject> <size>`, without the general dispatch.
                fields = data[position + 5 : line_end].split()
                if len(fields) == 2 and fields[1].isdigit() and len(fields[1]) < 10:
                    if line_end - position > self.max_control_line:
                        raise ControlLineTooLong()
                    size = int(fields[1])
                    if size > self.max_payload:
                        raise PayloadTooLarge()
                    start = newline + 1
                    stop = start + size + 2
                    if stop <= end and data[stop - 2 : stop] == CRLF:
                        self.handler.on_leaf_msg(fields[0], None, None, -1, size, buffer[start:stop])
                        position = stop
                    else:
                        self._message = (fields[0], None, None, -1, size)
                        self._needed = size + 2
                        self._state = PAYLOAD
                        position = start
                    continue
            self._control_line(data[position:line_end])
            position = newline + 1

    def _control_line(self, line: bytes) -> None:
        verb_end = line.find(b" ")
        if verb_end < 0:
            verb_end = len(line)
        verb = line[:verb_end].upper()
        arguments = line[verb_end + 1 :]
        if len(arguments) > self.max_control_line:
            raise ControlLineTooLong()
        handler = self.handler
        if self.connect_required and verb != b"CONNECT":
            # Before CONNECT anything else, garbage included, is an authorization violation.
            handler.on_unexpected_first_operation()
            return
        if verb == b"LMSG":
            self._message_line(arguments, with_headers=False)
        elif verb == b"HMSG":
            self._message_line(arguments, with_headers=True)
        elif verb == b"LS+":
            self._leaf_sub(arguments)
        elif verb == b"LS-":
            self._leaf_unsub(arguments)
        elif verb == b"PING":
            handler.on_ping()
        elif verb == b"PONG":
            handler.on_pong()
        elif verb == b"INFO":
            handler.on_info(parse_json_argument(arguments))
        elif verb == b"CONNECT":
            handler.on_connect(parse_json_argument(arguments))
        elif verb == b"+OK":
            pass
        elif verb in _CLIENT_VERBS:
            raise MalformedArguments(f"client operation {verb.decode()} on a leaf link")
        elif verb == b"-ERR":
            handler.on_peer_error(arguments.strip().strip(b"'").decode("latin-1", "replace"))
        else:
            raise UnknownOperation(f"unknown leaf operation {line[:16]!r}")

    def _message_line(self, arguments: bytes, with_headers: bool) -> None:
        """`subj [reply] [hdr] size`, or `subj +|| [reply] q1 q2... [hdr] size` with a queue list."""
        fields = arguments.split()
        sizes = 2 if with_headers else 1
        if len(fields) < 1 + sizes:
            raise MalformedArguments("message line needs a subject and a size")
        subject = fields[0]
        rest = fields[1:-sizes]
        reply: bytes | None = None
        queues: list[bytes] | None = None
        if len(rest) == 1:
            reply = rest[0]
        elif len(rest) > 1:
            marker = rest[0]
            if marker == b"+":
                if len(rest) < 3:
                    raise MalformedArguments("reply marker without reply and queue")
                reply = rest[1]
                queues = rest[2:]
            elif marker == b"|":
                queues = rest[1:]
            else:
                raise MalformedArguments("queue list without a + or | marker")
        size = parse_size(fields[-1])
        if with_headers:
            header_size = parse_size(fields[-2])
            if header_size > size:
                raise MalformedArguments("header size larger than total size")
        else:
            header_size = -1
        if size > self.max_payload:
            raise PayloadTooLarge()
        self._message = (subject, reply, queues, header_size, size)
        self._needed = size + 2
        self._state = PAYLOAD

    def _leaf_sub(self, arguments: bytes) -> None:
        fields = split_arguments(arguments)
        if len(fields) == 1:
            self.handler.on_leaf_sub(fields[0], None, 1)
        elif len(fields) == 3:
            self.handler.on_leaf_sub(fields[0], fields[1], parse_size(fields[2]))
        else:
            raise MalformedArguments("LS+ needs a subject, or a subject, queue and weight")

    def _leaf_unsub(self, arguments: bytes) -> None:
        fields = split_arguments(arguments)
        if len(fields) == 1:
            self.handler.on_leaf_unsub(fields[0], None)
        elif len(fields) == 2:
            self.handler.on_leaf_unsub(fields[0], fields[1])
        else:
            raise MalformedArguments("LS- needs a subject and an optional queue")
