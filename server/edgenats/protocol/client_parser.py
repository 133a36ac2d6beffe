"""Parser for the client protocol (client -> server), as an explicit two-state machine over bytes.

States:
  CONTROL_LINE  waiting for a complete operation line ending in `\\n`
  PAYLOAD       a PUB/HPUB control line was read; waiting for `size + 2` bytes (payload + CRLF)

`feed(data)` consumes everything it can and calls the handler once per operation. Payloads are
handed over as memoryview slices of the received buffer that include the trailing CRLF, so a
delivery can forward them without copying. Any split of the stream across reads is accepted.
"""

from __future__ import annotations

import json
from typing import Protocol

from edgenats.protocol.errors import (
    AuthorizationRequired,
    ControlLineTooLong,
    MalformedArguments,
    PayloadTooLarge,
    PeerReportedError,
    UnknownOperation,
)
from edgenats.protocol.pending_input import CONTROL_LINE, CRLF, PAYLOAD, VERB_ALLOWANCE, PendingInput

_VERBS_WITH_ARGUMENTS = frozenset((b"PUB", b"HPUB", b"SUB", b"UNSUB"))


class ClientOperationHandler(Protocol):
    def on_connect(self, options: dict) -> None: ...
    def on_publish(
        self, subject: bytes, reply: bytes | None, header_size: int, size: int, payload_crlf: memoryview
    ) -> None: ...
    def on_publish_run(self, subject: bytes, reply: bytes | None, size: int, payloads: list[memoryview]) -> None:
        """Several consecutive PUBs with identical control lines, in order."""
    def on_sub(self, subject: bytes, queue: bytes | None, sid: bytes) -> None: ...
    def on_unsub(self, sid: bytes, max_msgs: int | None) -> None: ...
    def on_ping(self) -> None: ...
    def on_pong(self) -> None: ...


def parse_size(text: bytes) -> int:
    """A size field: 1 to 9 ASCII digits."""
    if not text.isdigit() or len(text) > 9:
        raise MalformedArguments(f"invalid size {text[:32]!r}")
    return int(text)


def split_arguments(arguments: bytes) -> list[bytes]:
    """Arguments as nats-server's splitArg finds them: separated by space, tab, CR or LF only.

    Other bytes, vertical tab and form feed included, belong to a subject or queue name (bytes.split()
    would also split at those two).
    """
    spaced = arguments.replace(b"\t", b" ").replace(b"\r", b" ").replace(b"\n", b" ")
    return [field for field in spaced.split(b" ") if field]


def parse_json_argument(argument: bytes) -> dict:
    try:
        value = json.loads(argument)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedArguments(f"invalid JSON: {error}") from None
    if not isinstance(value, dict):
        raise MalformedArguments("JSON argument is not an object")
    return value


class ClientProtocolParser(PendingInput):
    """Turns client bytes into handler calls; raises a ProtocolViolation on bad input."""

    __slots__ = (
        "handler",
        "max_control_line",
        "max_payload",
        "connect_required",
        "headers_allowed",
        "_state",
        "_message",
    )

    def __init__(self, handler: ClientOperationHandler, max_control_line: int, max_payload: int) -> None:
        super().__init__()
        self.handler = handler
        self.max_control_line = max_control_line
        self.max_payload = max_payload
        self.connect_required = False
        self.headers_allowed = False
        self._state = CONTROL_LINE
        self._message: tuple | None = None

    def feed(self, data: bytes) -> None:
        if self._stopped:
            return
        data = self._joined(data)
        if data is None:
            return
        buffer = memoryview(data)
        position = 0
        end = len(data)
        handler = self.handler
        # Limits change only on a reload, never during one read.
        max_payload = self.max_payload
        max_line = self.max_control_line + 5
        while position < end:
            if self._state == PAYLOAD:
                needed = self._needed
                if end - position < needed:
                    if end - position == needed - 1 and data[end - 1] != 13:
                        raise UnknownOperation("payload not followed by CRLF")
                    self._keep(data, position, needed)
                    return
                stop = position + needed
                if data[stop - 2 : stop] != CRLF:
                    raise UnknownOperation("payload not followed by CRLF")
                subject, reply, header_size, size = self._message
                self._state = CONTROL_LINE
                handler.on_publish(subject, reply, header_size, size, buffer[position:stop])
                position = stop
                continue
            newline = data.find(b"\n", position)
            if newline < 0:
                if end - position > max_line + VERB_ALLOWANCE:
                    raise ControlLineTooLong()
                self._keep(data, position, end - position + 1)
                return
            if data.startswith(b"PUB ", position) and not self.connect_required:
                # The common operation, parsed and delivered in place (split() also drops the \r). The
                # same rules as _pub_arguments, written inline on purpose: this runs once per message,
                # and the slow path (split lines, before CONNECT) keeps its own readable copy.
                fields = data[position + 4 : newline].split()
                if len(fields) == 2:
                    subject, size_text = fields
                    reply = None
                elif len(fields) == 3:
                    subject, reply, size_text = fields
                else:
                    raise MalformedArguments("PUB needs 2 or 3 arguments")
                if newline - position > max_line:
                    raise ControlLineTooLong()
                if not size_text.isdigit():
                    raise MalformedArguments(f"invalid size {size_text[:32]!r}")
                size = int(size_text)
                if size > max_payload:
                    self._too_large(size_text)
                start = newline + 1
                stop = start + size + 2
                if stop <= end and data[stop - 2 : stop] == CRLF:
                    # Frames repeating this one byte for byte (same subject, reply and size) follow
                    # often: telemetry streams. They are collected and handed over as one run.
                    head = data[position:start]
                    frame = stop - position
                    following = stop + frame
                    if following <= end and data.startswith(head, stop) and data[following - 2 : following] == CRLF:
                        run = [buffer[start:stop], buffer[stop + start - position : following]]
                        following += frame
                        while following <= end and data.startswith(head, following - frame) and (
                            data[following - 2 : following] == CRLF
                        ):
                            run.append(buffer[following - frame + start - position : following])
                            following += frame
                        handler.on_publish_run(subject, reply, size, run)
                        position = following - frame
                    else:
                        handler.on_publish(subject, reply, -1, size, buffer[start:stop])
                        position = stop
                else:
                    self._expect_payload(subject, reply, -1, size)
                    position = start
                continue
            line_end = newline - 1 if newline > position and data[newline - 1] == 13 else newline
            self._control_line(data[position:line_end])
            if self._stopped:
                return
            position = newline + 1

    @staticmethod
    def _too_large(size_text: bytes) -> None:
        # More than 9 digits is a malformed size (silent close), not an oversized payload.
        if len(size_text) > 9:
            raise MalformedArguments(f"invalid size {size_text[:32]!r}")
        raise PayloadTooLarge()

    def _control_line(self, line: bytes) -> None:
        verb_end = line.find(b" ")
        tab = line.find(b"\t")
        if tab >= 0 and (verb_end < 0 or tab < verb_end):
            verb_end = tab
        if verb_end < 0:
            verb_end = len(line)
        verb = line[:verb_end].upper()
        arguments = line[verb_end:]
        if not arguments and verb in _VERBS_WITH_ARGUMENTS:
            raise UnknownOperation(f"{verb.decode()} without arguments")
        if self.connect_required and not verb.startswith(b"CONNECT"):
            raise AuthorizationRequired()
        if len(arguments) > self.max_control_line:
            raise ControlLineTooLong()
        if verb == b"PUB":
            subject, reply, size = self._pub_arguments(arguments)
            self._expect_payload(subject, reply, -1, size)
        elif verb == b"HPUB":
            self._hpub(arguments)
        elif verb == b"SUB":
            self._subscribe(arguments)
        elif verb == b"UNSUB":
            self._unsubscribe(arguments)
        elif verb.startswith(b"PING"):
            self.handler.on_ping()
        elif verb.startswith(b"PONG"):
            self.handler.on_pong()
        elif verb.startswith(b"CONNECT"):
            self.handler.on_connect(parse_json_argument(line[7:]))
        elif verb.startswith(b"INFO"):
            parse_json_argument(line[4:])
        elif verb.startswith(b"+OK"):
            pass
        elif verb.startswith(b"-ERR"):
            raise PeerReportedError(line[4:].strip().decode("latin-1", "replace"))
        else:
            raise UnknownOperation(f"unknown operation {line[:16]!r}")

    def _pub_arguments(self, arguments: bytes) -> tuple[bytes, bytes | None, int]:
        fields = arguments.split()
        if len(fields) == 2:
            subject, size_text = fields
            reply = None
        elif len(fields) == 3:
            subject, reply, size_text = fields
        else:
            raise MalformedArguments("PUB needs 2 or 3 arguments")
        if not size_text.isdigit() or len(size_text) > 9:
            raise MalformedArguments(f"invalid size {size_text[:32]!r}")
        size = int(size_text)
        if size > self.max_payload:
            raise PayloadTooLarge()
        return subject, reply, size

    def _hpub(self, arguments: bytes) -> None:
        if not self.headers_allowed:
            raise MalformedArguments("HPUB without headers support negotiated")
        fields = arguments.split()
        if len(fields) == 3:
            subject, header_text, size_text = fields
            reply = None
        elif len(fields) == 4:
            subject, reply, header_text, size_text = fields
        else:
            raise MalformedArguments("HPUB needs 3 or 4 arguments")
        header_size = parse_size(header_text)
        size = parse_size(size_text)
        if header_size > size:
            raise MalformedArguments("header size larger than total size")
        if size > self.max_payload:
            raise PayloadTooLarge()
        self._expect_payload(subject, reply, header_size, size)

    def _expect_payload(self, subject: bytes, reply: bytes | None, header_size: int, size: int) -> None:
        self._message = (subject, reply, header_size, size)
        self._needed = size + 2
        self._state = PAYLOAD

    def _subscribe(self, arguments: bytes) -> None:
        fields = split_arguments(arguments)
        if len(fields) == 2:
            self.handler.on_sub(fields[0], None, fields[1])
        elif len(fields) == 3:
            self.handler.on_sub(fields[0], fields[1], fields[2])
        else:
            raise MalformedArguments("SUB needs 2 or 3 arguments")

    def _unsubscribe(self, arguments: bytes) -> None:
        fields = arguments.split()
        if len(fields) == 1:
            self.handler.on_unsub(fields[0], None)
        elif len(fields) == 2:
            self.handler.on_unsub(fields[0], parse_size(fields[1]))
        else:
            raise MalformedArguments("UNSUB needs 1 or 2 arguments")
