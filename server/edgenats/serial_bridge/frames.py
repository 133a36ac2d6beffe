"""The serial line protocol's codec: frames to bytes and bytes to frames, no I/O (docs/SERIAL-PROTOCOL.md).

A frame is one line: `~<n> <VERB> <field> ... <crc>` + newline, where crc is the CRC-16/CCITT-FALSE of
everything between the `~` and the space before it, as four hex digits. Any other line is the board's
console output. `LineDecoder` is a state machine fed the bytes as they come (a frame may be split across
reads, console lines may come between frames) and gives back `Frame`, `Refused` (a frame line that is not
one: bad checksum, bad fields) and `ConsoleLine` events.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from dataclasses import dataclass

MARK = b"~"
MAX_LINE = 4096  # a longer line is dropped whole (a frame that long is refused)
NONE = "-"  # an empty or absent field

# The fields after the verb, by verb: the number of them each frame carries.
ARITY = {
    "HELLO": 4,  # device_id version boot rx
    "PUB": 4,  # subject reply headers payload
    "SUB": 3,  # sid subject queue
    "UNSUB": 1,  # sid
    "MSG": 5,  # sid subject reply headers payload
    "ACK": 2,  # n info
    "NAK": 2,  # n reason
    "SYNC": 1,  # bridge
}


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (polynomial 0x1021, start 0xFFFF), which the board computes bit by bit."""
    return binascii.crc_hqx(data, 0xFFFF)


def encode(n: int, verb: str, *fields: str) -> bytes:
    body = " ".join((str(n), verb, *fields)).encode()
    return MARK + body + b" %04x\n" % crc16(body)


def pack(data: bytes | None) -> str:
    """Payload bytes as a field: base64, or `-` when empty."""
    return base64.b64encode(data).decode() if data else NONE


def unpack(field: str) -> bytes:
    return b"" if field == NONE else base64.b64decode(field, validate=True)


def pack_headers(headers: dict[str, str] | None) -> str:
    return pack(json.dumps(headers, separators=(",", ":")).encode()) if headers else NONE


def unpack_headers(field: str) -> dict[str, str] | None:
    if field == NONE:
        return None
    headers = json.loads(unpack(field))
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise ValueError("headers are not an object of strings")
    return headers


def optional(field: str) -> str | None:
    return None if field == NONE else field


@dataclass(frozen=True)
class Frame:
    n: int
    verb: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Refused:
    """A line that began as a frame but is not a good one; n is its number when that much could be read."""

    n: int | None
    reason: str


@dataclass(frozen=True)
class ConsoleLine:
    text: str


Event = Frame | Refused | ConsoleLine


class LineState(enum.Enum):
    LINE_START = "line start"  # nothing of the current line read yet
    FRAME = "frame"  # the line began with the mark
    CONSOLE = "console"  # any other line
    OVERLONG = "overlong"  # past MAX_LINE: skipped to its end


def parse(line: bytes) -> Frame | Refused:
    """One frame line, without its mark and newline."""
    body, _, crc = line.rpartition(b" ")
    words = body.split(b" ")
    try:
        n = int(words[0])
    except ValueError:
        n = None
    try:
        good = len(crc) == 4 and int(crc, 16) == crc16(body)
    except ValueError:
        good = False
    if not good:
        return Refused(n, "crc")
    verb = words[1].decode("ascii", "replace") if len(words) > 1 else ""
    fields = tuple(w.decode("ascii", "replace") for w in words[2:])
    if n is None or n < 0 or ARITY.get(verb) != len(fields):
        return Refused(n, "bad")
    return Frame(n, verb, fields)


class LineDecoder:
    """Bytes in, events out; keeps the part of a line a read left unfinished."""

    def __init__(self):
        self.state = LineState.LINE_START
        self._line = bytearray()

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        for byte in data:  # lines are short and few: a byte at a time keeps the states plain
            if byte == 0x0A:  # newline
                events.extend(self._end_line())
                continue
            if self.state is LineState.LINE_START:
                if byte == 0x0D:
                    continue
                self.state = LineState.FRAME if byte == MARK[0] else LineState.CONSOLE
                if self.state is LineState.FRAME:
                    continue
            if self.state is LineState.OVERLONG:
                continue
            if len(self._line) >= MAX_LINE:
                self.state, self._line = LineState.OVERLONG, bytearray()
                continue
            self._line.append(byte)
        return events

    def _end_line(self) -> list[Event]:
        state, line = self.state, bytes(self._line).rstrip(b"\r")
        self.state, self._line = LineState.LINE_START, bytearray()
        if state is LineState.FRAME:
            return [parse(line)]
        if state is LineState.CONSOLE:
            return [ConsoleLine(line.decode("utf-8", "replace"))]
        if state is LineState.OVERLONG:
            return [Refused(None, "long")]
        return []
