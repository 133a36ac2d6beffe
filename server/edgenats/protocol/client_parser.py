"""Parser for the client protocol (client -> server), as an explicit two-state machine over bytes.

States:
  CONTROL_LINE  waiting for a complete operation line ending in `\\n`
  PAYLOAD       a PUB/HPUB (or HMSG) control line was read; waiting for `size + 2` bytes (payload + CRLF)

`feed(data)` consumes everything it can and calls the handler once per operation. Payloads are
handed over as memoryview slices of the received buffer that include the trailing CRLF, so a
delivery can forward them without copying. Any split of the stream across reads gives the same calls.

The rules are nats-server's (server/parser.go), as it applies them to a line received in one read:

  * a verb is matched byte by byte in any case, and a byte that cannot continue one is answered
    with `-ERR 'Unknown Protocol Operation'` at once, before the line is complete. Clients may send
    CONNECT, PUB, HPUB, SUB, UNSUB, PING, PONG, INFO, +OK, -ERR and, oddly, HMSG (its arguments are
    ignored and a zero-byte message without subject follows).
  * PUB, HPUB, SUB, UNSUB, HMSG and -ERR need a space or tab after the verb; CONNECT and INFO do not.
    Spaces and tabs after the verb are skipped and the argument starts at the next byte, whatever it
    is (even `\\r` or `\\n`); it ends at the next `\\n`. If a `\\r` occurs after its first byte, the
    argument's last byte is dropped (normally that `\\r`). PING, PONG and +OK take anything up to `\\n`.
  * an argument longer than max_control_line is refused, for every verb that has one; so is an
    incomplete one already longer, less one byte if it holds a `\\r`.
  * PUB and HPUB split their arguments on spaces and tabs; SUB and UNSUB also on `\\r`. A size is 1
    to 9 ASCII digits. UNSUB's maximum that is not a size unsubscribes at once.
  * before CONNECT on a listener requiring authentication, an operation not starting with C is an
    authorization violation.

The PUB fast path handles the canonical form (`PUB <subject> [reply] <size>\\r\\n`, single spaces)
in place and leaves every other line to the general path, so both always agree. Consecutive whole
canonical PUB frames in one read are handed over together: those repeating one control line without a
reply (telemetry) as a publish run, those with one subject and size and each its own reply (async
publishes) as a request run.
"""

from __future__ import annotations

import json
import re
from typing import Protocol

from edgenats.protocol.connect_options import ConnectOptions, check_info
from edgenats.protocol.errors import (
    AuthorizationRequired,
    ControlLineTooLong,
    MalformedArguments,
    PayloadTooLarge,
    PeerReportedError,
    UnknownOperation,
)
from edgenats.protocol.pending_input import CONTROL_LINE, CRLF, PAYLOAD, PendingInput

# Verbs, by their first two bytes in upper case.
PUB, HPUB, HMSG, SUB, UNSUB, PING, PONG, CONNECT, INFO, OK, ERR = (
    b"PUB", b"HPUB", b"HMSG", b"SUB", b"UNSUB", b"PING", b"PONG", b"CONNECT", b"INFO", b"+OK", b"-ERR"
)
_VERBS = {verb[:2]: verb for verb in (PUB, HPUB, HMSG, SUB, UNSUB, PING, PONG, CONNECT, INFO, OK, ERR)}
_FIRST_BYTES = frozenset(verb[0] for verb in _VERBS.values())
_SEPARATED_VERBS = frozenset((PUB, HPUB, HMSG, SUB, UNSUB, ERR))
_LINE_VERBS = frozenset((PING, PONG, OK))
# The options of a client before its first CONNECT (immutable, so shared).
_DEFAULT_CONNECT = ConnectOptions()
_SPACE, _TAB, _CR, _ZERO = 32, 9, 13, 48
# SUB and UNSUB split on \r (and \n) as well as on spaces and tabs; PUB and HPUB only on the latter.
# Repeated PUB frames compared one by one before a run is checked in strided blocks (each 4x larger).
_FIRST_RUN_BLOCK = 8
_SUB_SEPARATORS = bytes.maketrans(b"\t\r\n", b"   ")
_PUB_SEPARATORS = bytes.maketrans(b"\t", b" ")


class ClientOperationHandler(Protocol):
    def on_connect(self, options: ConnectOptions) -> None: ...
    def on_invalid_publish_subject(self) -> None:
        """A pedantic connection's PUB/HPUB has a subject that is not a valid literal one."""
    def on_publish(
        self, subject: bytes, reply: bytes | None, header_size: int, size: int, payload_crlf: memoryview,
        sizes_as_sent: tuple[bytes | None, bytes] | None = None,
    ) -> None:
        """`sizes_as_sent` (header size text or None, size text): only when a size was not written in
        its shortest form (leading zeros); nats-server repeats sizes to receivers as they were sent."""
    def on_publish_run(self, subject: bytes, size: int, payloads: list[memoryview]) -> None:
        """Several consecutive PUBs without a reply subject and with identical control lines, in order."""
    def on_request_run(self, subject: bytes, size: int, replies: list[bytes], payloads: list[memoryview]) -> None:
        """Several consecutive PUBs with one subject and size and each a reply subject, in order."""
    def on_sub(self, subject: bytes, queue: bytes | None, sid: bytes) -> None: ...
    def on_unsub(self, sid: bytes, max_msgs: int | None) -> None: ...
    def on_ping(self) -> None: ...
    def on_pong(self) -> None: ...


# PUB and HPUB lines in canonical form: arguments (any bytes but space, tab, CR, LF) separated by one
# space, sizes of 1 to 9 digits without leading zeros, then CRLF or LF.
_SIZE = rb"(0|[1-9][0-9]{0,8})"
_CANONICAL_PUB = re.compile(rb"PUB ([^ \t\r\n]+) (?:([^ \t\r\n]+) )?" + _SIZE + rb"\r?\n")
_CANONICAL_HPUB = re.compile(rb"HPUB ([^ \t\r\n]+) (?:([^ \t\r\n]+) )?" + _SIZE + b" " + _SIZE + rb"\r?\n")


def size_or_none(text: bytes) -> int | None:
    """A size field (1 to 9 ASCII digits, as nats-server's parseSize), or None."""
    if 0 < len(text) < 10 and text.isdigit():
        return int(text)
    return None


def parse_size(text: bytes) -> int:
    size = size_or_none(text)
    if size is None:
        raise MalformedArguments(f"invalid size {text[:32]!r}")
    return size


def parse_json_argument(argument: bytes) -> dict:
    try:
        value = json.loads(argument)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedArguments(f"invalid JSON: {error}") from None
    if not isinstance(value, dict):
        raise MalformedArguments("JSON argument is not an object")
    return value


def is_literal_publish_subject(subject: bytes) -> bool:
    """nats-server's pedantic check of a PUB subject (IsValidLiteralSubject): no empty token and no
    wildcard token. Unlike a SUB subject, whitespace and other bytes are not looked at."""
    tokens = subject.split(b".")
    return b"" not in tokens and b"*" not in tokens and b">" not in tokens


def _verb_at(data: bytes, position: int) -> bytes | None:
    """The verb starting at `position`; None while the bytes there are a verb's incomplete start."""
    head = data[position : position + 7].upper()
    verb = _VERBS.get(head[:2]) if len(head) > 1 else None
    if head[0] not in _FIRST_BYTES or (len(head) > 1 and (verb is None or head[: len(verb)] != verb[: len(head)])):
        raise UnknownOperation(f"unknown operation {data[position : position + 16]!r}")
    if verb is None or len(head) < len(verb):
        return None
    return verb


def _as_sent(header_text: bytes | None, size_text: bytes) -> tuple[bytes | None, bytes] | None:
    """The size texts, kept only when one has leading zeros (otherwise they are the numbers' own)."""
    if size_text[0] == _ZERO and len(size_text) > 1:
        return header_text, size_text
    if header_text is not None and header_text[0] == _ZERO and len(header_text) > 1:
        return header_text, size_text
    return None


def _repeats(data: bytes, position: int, start: int, frame: int, end: int) -> int:
    """How many whole frames after the one at `position` (control line up to `start`, `frame` bytes
    long) repeat its control line and end in CRLF. The first few are compared one by one (a request
    stream repeats a line a few times, if at all); past those, each byte of the line and the CRLF is
    checked in one strided slice across a block of frames, in C, blocks growing while every frame in
    them repeats, so the work follows the run's length and not the read's."""
    available = (end - position) // frame - 1
    if available <= 0:
        return 0
    first = position + frame
    head = data[position:start]
    found = 0
    while found < available:
        at = first + found * frame
        if not data.startswith(head, at) or data[at + frame - 2 : at + frame] != CRLF:
            return found
        found += 1
        if found == _FIRST_RUN_BLOCK:
            break
    if found == available:
        return found
    checks = [(offset, head[offset : offset + 1]) for offset in range(len(head))]
    checks += [(frame - 2, b"\r"), (frame - 1, b"\n")]
    block = _FIRST_RUN_BLOCK * 4
    while found < available:
        count = wanted = min(block, available - found)
        base = first + found * frame
        for offset, expected in checks:
            column = data[base + offset : base + offset + count * frame : frame]
            count -= len(column.lstrip(expected))
            if not count:
                break
        found += count
        if count < wanted:
            break
        block *= 4
    return found


def _extend_request_run(data: bytes, buffer: memoryview, position: int, end: int, prefix: bytes, size_text: bytes,
                        size: int, max_line: int, replies: list[bytes], payloads: list[memoryview]) -> int:
    """Add to a run of requests the whole canonical PUB frames from `position` on that start with the run's
    `PUB <subject> ` prefix and have its size, each with a reply; returns where the first frame that is
    not one starts."""
    while data.startswith(prefix, position):
        canonical = _CANONICAL_PUB.match(data, position)
        if canonical is None:
            break
        _, reply, frame_size_text = canonical.groups()  # (the subject is the prefix's)
        start = canonical.end()
        stop = start + size + 2
        if reply is None or frame_size_text != size_text or start - position > max_line or stop > end \
                or data[stop - 2 : stop] != CRLF:
            break
        replies.append(reply)
        payloads.append(buffer[start:stop])
        position = stop
    return position


def split_arguments(argument: bytes, separators: bytes = _SUB_SEPARATORS) -> list[bytes]:
    """Arguments as nats-server's splitArg finds them: separated by space, tab, CR or LF only (PUB and
    HPUB: space and tab). Other bytes, vertical tab and form feed included, belong to a subject or queue
    name (bytes.split() would also split at those two)."""
    return [field for field in argument.translate(separators).split(b" ") if field]


class ClientProtocolParser(PendingInput):
    """Turns client bytes into handler calls; raises a ProtocolViolation on bad input."""

    __slots__ = (
        "handler",
        "max_control_line",
        "max_payload",
        "connect_required",
        "headers_allowed",
        "pedantic",
        "connect_options",
        "_message",
    )

    def __init__(self, handler: ClientOperationHandler, max_control_line: int, max_payload: int) -> None:
        super().__init__()
        self.handler = handler
        self.max_control_line = max_control_line
        self.max_payload = max_payload
        self.connect_required = False
        self.headers_allowed = False
        # As nats-server before any CONNECT: pedantic.
        self.pedantic = True
        # What the CONNECTs so far amount to; each one updates it (a new object: until then all share one).
        self.connect_options = _DEFAULT_CONNECT
        self._message: tuple | None = None

    def feed(self, data: bytes) -> None:
        if self._stopped:
            return
        position = self._resume(data) if self._pending else 0
        if position >= 0:
            self._parse(data, position)

    def _parse(self, data: bytes, position: int) -> None:
        buffer = memoryview(data)
        end = len(data)
        handler = self.handler
        # The control line limit changes only on a reload, never during one read; the payload limit (the
        # account's or user's, bound at CONNECT) and the session's flags only through an operation of
        # the general path (CONNECT), after which they are read again.
        max_line = self.max_control_line
        max_payload = self.max_payload
        fast, pedantic, headers = not self.connect_required, self.pedantic, self.headers_allowed
        while position < end:
            if self._state == PAYLOAD:
                needed = self._needed
                if end - position < needed:
                    if end - position == needed - 1 and data[end - 1] != _CR:
                        raise UnknownOperation("payload not followed by CRLF")
                    self._keep(data, position, needed)
                    return
                stop = position + needed
                if data[stop - 2 : stop] != CRLF:
                    raise UnknownOperation("payload not followed by CRLF")
                subject, reply, header_size, size, sizes_as_sent = self._message
                self._state = CONTROL_LINE
                handler.on_publish(subject, reply, header_size, size, buffer[position:stop], sizes_as_sent)
                position = stop
                continue
            if fast:
                # The common operations in their canonical form (one space between arguments, sizes in
                # their shortest form, CRLF or LF) are parsed and delivered in place: this runs once
                # per message. Any other line goes to the general path, which decides with the full
                # rules; both paths always agree.
                canonical = _CANONICAL_PUB.match(data, position)
                if canonical is not None:
                    subject, reply, size_text = canonical.groups()
                    size = int(size_text)
                    start = canonical.end()
                    # A whole line within the limit certainly has its arguments within it; a line near
                    # the limit is measured exactly by the general path.
                    if start - position <= max_line and size <= max_payload:
                        valid = not pedantic or is_literal_publish_subject(subject)
                        if not valid:
                            handler.on_invalid_publish_subject()
                        stop = start + size + 2
                        if stop > end or data[stop - 2 : stop] != CRLF:
                            self._expect_payload(subject, reply, -1, size)
                            position = start
                            continue
                        # Requests on one subject with one size, each with its own reply, follow often:
                        # async publishes to a stream. They are handed over as one run (not those with an
                        # invalid subject: each is reported).
                        if reply is not None and valid and data.startswith(prefix := b"PUB " + subject + b" ", stop):
                            replies, payloads = [reply], [buffer[start:stop]]
                            position = _extend_request_run(data, buffer, stop, end, prefix, size_text, size, max_line,
                                                           replies, payloads)
                            if len(replies) > 1:
                                handler.on_request_run(subject, size, replies, payloads)
                            else:
                                handler.on_publish(subject, reply, -1, size, payloads[0])
                            continue
                        # Frames repeating this one's control line (same subject and size, no reply) follow
                        # often too: telemetry streams. They are collected and handed over as one run.
                        frame = stop - position
                        following = _repeats(data, position, start, frame, end) if valid and reply is None else 0
                        if following:
                            line = start - position
                            run = [buffer[start:stop]]
                            run += [buffer[at + line : at + frame]
                                    for at in range(stop, stop + following * frame, frame)]
                            handler.on_publish_run(subject, size, run)
                            position = stop + following * frame
                        else:
                            handler.on_publish(subject, reply, -1, size, buffer[start:stop])
                            position = stop
                        continue
                elif headers:
                    canonical = _CANONICAL_HPUB.match(data, position)
                    if canonical is not None:
                        subject, reply, header_text, size_text = canonical.groups()
                        header_size = int(header_text)
                        size = int(size_text)
                        start = canonical.end()
                        if start - position <= max_line and size <= max_payload and header_size <= size:
                            if pedantic and not is_literal_publish_subject(subject):
                                handler.on_invalid_publish_subject()
                            stop = start + size + 2
                            if stop > end or data[stop - 2 : stop] != CRLF:
                                self._expect_payload(subject, reply, header_size, size)
                                position = start
                                continue
                            handler.on_publish(subject, reply, header_size, size, buffer[start:stop])
                            position = stop
                            continue
            position = self._operation(data, position, end)
            if position < 0 or self._stopped:
                return
            fast, pedantic, headers = not self.connect_required, self.pedantic, self.headers_allowed
            max_payload = self.max_payload

    def _operation(self, data: bytes, position: int, end: int) -> int:
        """Parse the operation at `position`: the position after its line, or -1 once the
        incomplete rest is kept for the next feed."""
        if self.connect_required and data[position] not in b"Cc":
            raise AuthorizationRequired()
        verb = _verb_at(data, position)
        if verb is None:
            self._keep(data, position, end - position + 1)
            return -1
        after_verb = position + len(verb)
        if verb in _LINE_VERBS:
            newline = data.find(b"\n", after_verb)
            if newline < 0:
                # The rest of the line does not matter: only the verb is kept.
                self._keep(data[:after_verb], position, after_verb - position + 1)
                return -1
            if verb == PING:
                self.handler.on_ping()
            elif verb == PONG:
                self.handler.on_pong()
            return newline + 1
        if verb in _SEPARATED_VERBS and after_verb < end and data[after_verb] not in (_SPACE, _TAB):
            raise UnknownOperation(f"{verb.decode()} not followed by a space")
        start = after_verb
        while start < end and data[start] in (_SPACE, _TAB):
            start += 1
        newline = data.find(b"\n", start + 1) if start < end else -1
        if newline < 0:
            partial = end - start
            if partial > 1 and data.find(b"\r", start + 1, end) >= 0:
                partial -= 1
            if partial > self.max_control_line:
                raise ControlLineTooLong()
            # Spaces and tabs after the verb are kept as one: they are skipped all the same.
            kept = data[position:after_verb] + (b" " if start > after_verb else b"") + data[start:end]
            self._keep(kept, 0, len(kept) + 1)
            return -1
        stop = newline - 1 if data.find(b"\r", start + 1, newline) >= 0 else newline
        if stop - start > self.max_control_line:
            raise ControlLineTooLong()
        self._arguments(verb, data[start:stop])
        return newline + 1

    def _arguments(self, verb: bytes, argument: bytes) -> None:
        if verb == PUB:
            self._publish(argument)
        elif verb == HPUB:
            self._header_publish(argument)
        elif verb == SUB:
            self._subscribe(argument)
        elif verb == UNSUB:
            self._unsubscribe(argument)
        elif verb == CONNECT:
            options = self.connect_options.updated(argument)
            self.connect_options = options
            self.handler.on_connect(options)
        elif verb == INFO:
            check_info(argument)
        elif verb == HMSG:
            # nats-server ignores a client's HMSG arguments and reads a zero-byte message without subject.
            self._expect_payload(b"", None, -1, 0)
        else:
            raise PeerReportedError(argument.decode("latin-1", "replace"))

    def _publish(self, argument: bytes) -> None:
        fields = split_arguments(argument, _PUB_SEPARATORS)
        if len(fields) == 2:
            subject, size_text = fields
            reply = None
        elif len(fields) == 3:
            subject, reply, size_text = fields
        else:
            raise MalformedArguments("PUB needs 2 or 3 arguments")
        size = parse_size(size_text)
        if size > self.max_payload:
            raise PayloadTooLarge()
        self._check_publish_subject(subject)
        self._expect_payload(subject, reply, -1, size, _as_sent(None, size_text))

    def _header_publish(self, argument: bytes) -> None:
        if not self.headers_allowed:
            raise MalformedArguments("HPUB without headers support negotiated")
        fields = split_arguments(argument, _PUB_SEPARATORS)
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
        self._check_publish_subject(subject)
        self._expect_payload(subject, reply, header_size, size, _as_sent(header_text, size_text))

    def _check_publish_subject(self, subject: bytes) -> None:
        if self.pedantic and not is_literal_publish_subject(subject):
            self.handler.on_invalid_publish_subject()

    def _expect_payload(self, subject: bytes, reply: bytes | None, header_size: int, size: int,
                        sizes_as_sent: tuple[bytes | None, bytes] | None = None) -> None:
        self._message = (subject, reply, header_size, size, sizes_as_sent)
        self._needed = size + 2
        self._state = PAYLOAD

    def _subscribe(self, argument: bytes) -> None:
        fields = split_arguments(argument)
        if len(fields) == 2:
            self.handler.on_sub(fields[0], None, fields[1])
        elif len(fields) == 3:
            self.handler.on_sub(fields[0], fields[1], fields[2])
        else:
            raise MalformedArguments("SUB needs 2 or 3 arguments")

    def _unsubscribe(self, argument: bytes) -> None:
        fields = split_arguments(argument)
        if len(fields) == 1:
            self.handler.on_unsub(fields[0], None)
        elif len(fields) == 2:
            self.handler.on_unsub(fields[0], size_or_none(fields[1]))
        else:
            raise MalformedArguments("UNSUB needs 1 or 2 arguments")
