"""NATS message header blocks (`NATS/1.0 ...` in HPUB/HMSG): parsing and building, sans-I/O.

A block is a status line, `Key: Value` lines and an empty line:

    NATS/1.0 408 Request Timeout\\r\\nNats-Pending-Messages: 1\\r\\n\\r\\n

`parse_headers(block)` returns an immutable `Headers` (status code and description when the status
line has them, then the fields in wire order, repeated keys kept); `Headers.encode()` builds the
block. Keys keep their case and lookups are case-sensitive, as nats-server's own (`getHeader`/
`sliceHeader` match the raw key: `nats-msg-id` is not `Nats-Msg-Id`). Values are trimmed of spaces
and tabs, as nats-server's header map and Go's textproto do. Text is latin-1, one character per
byte, like subjects, so any block parses and encodes back to the same bytes.

Anything that is not a well-formed block raises `HeaderError` (a ValueError) and nothing else.
Encoding checks the same rules, so `parse_headers(headers.encode()) == headers` always holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION = b"NATS/1.0"
_END = b"\r\n\r\n"
# A key is one or more bytes other than control characters, space and the colon.
_KEY_BYTES = rb"[^\x00-\x20\x7f:]+"
_FIELD = re.compile(rb"(" + _KEY_BYTES + rb"):[ \t]*(.*?)[ \t]*", re.DOTALL)
_KEY = re.compile(_KEY_BYTES)
_STATUS = re.compile(rb"[ \t]+(?:(\d{3})(?:[ \t]+(.*?))?)?[ \t]*", re.DOTALL)


class HeaderError(ValueError):
    """A header block (or the parts of one being built) that is not a well-formed NATS/1.0 block."""


@dataclass(frozen=True, slots=True)
class Headers:
    """A parsed or to-be-built header block: `fields` in wire order as (key, value) pairs."""

    fields: tuple[tuple[str, str], ...] = ()
    status: int | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.status is None:
            if self.description:
                raise HeaderError("a description needs a status code")
        elif type(self.status) is not int or not 100 <= self.status <= 999:
            raise HeaderError(f"status must be a three-digit code, not {self.status!r}")
        _check_text("description", self.description)
        for field in self.fields:
            if type(field) is not tuple or len(field) != 2:
                raise HeaderError(f"a field must be a (key, value) pair, not {field!r}")
            key, value = field
            if type(key) is not str or not _KEY.fullmatch(_latin1(key)):
                raise HeaderError(f"invalid header key {key!r}")
            _check_text("value", value)

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of `key` (case-sensitive), or `default`."""
        for name, value in self.fields:
            if name == key:
                return value
        return default

    def get_all(self, key: str) -> list[str]:
        """Every value of `key` (case-sensitive), in wire order."""
        return [value for name, value in self.fields if name == key]

    def encode(self) -> bytes:
        """The block as sent on the wire, ending in CRLF CRLF."""
        line = _VERSION
        if self.status is not None:
            line += b" %d" % self.status
            if self.description:
                line += b" " + self.description.encode("latin-1")
        parts = [line]
        parts.extend(b"%s: %s" % (key.encode("latin-1"), value.encode("latin-1")) for key, value in self.fields)
        return b"\r\n".join(parts) + _END


def parse_headers(block: bytes | bytearray | memoryview) -> Headers:
    """Parse a whole header block (the first `header_size` bytes of an HPUB/HMSG payload)."""
    data = bytes(block)
    if not data.startswith(_VERSION):
        raise HeaderError(f"header block does not start with NATS/1.0: {data[:16]!r}")
    if not data.endswith(_END):
        raise HeaderError("header block does not end with an empty line (CRLF CRLF)")
    lines = data[: -len(_END)].split(b"\r\n")
    status = None
    description = ""
    status_line = lines[0][len(_VERSION) :]
    if status_line:
        found = _STATUS.fullmatch(status_line)
        if found is None:
            raise HeaderError(f"invalid status line {lines[0][:64]!r}")
        code, text = found.groups()
        if code is not None:
            status = int(code)
            description = _text(text or b"")
    fields = []
    for line in lines[1:]:
        found = _FIELD.fullmatch(line)
        if found is None or b"\r" in line or b"\n" in line:
            raise HeaderError(f"invalid header line {line[:64]!r}")
        key, value = found.groups()
        fields.append((key.decode("latin-1"), value.decode("latin-1")))
    return Headers(tuple(fields), status, description)


def _text(raw: bytes) -> str:
    if b"\r" in raw or b"\n" in raw:
        raise HeaderError(f"line break inside a header line: {raw[:64]!r}")
    return raw.decode("latin-1")


def _latin1(text: str) -> bytes:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise HeaderError(f"not one byte per character (latin-1): {text[:64]!r}") from None


def _check_text(what: str, text: object) -> None:
    if type(text) is not str:
        raise HeaderError(f"{what} must be text, not {text!r}")
    raw = _latin1(text)
    if b"\r" in raw or b"\n" in raw or raw != raw.strip(b" \t"):
        raise HeaderError(f"{what} {text!r} has a line break or leading/trailing space")
