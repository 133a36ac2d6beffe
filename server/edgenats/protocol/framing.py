"""Framing of server -> client operations: INFO, PING/PONG, +OK, -ERR and MSG/HMSG size fields."""

from __future__ import annotations

import json

PING = b"PING\r\n"
PONG = b"PONG\r\n"
OK = b"+OK\r\n"
CRLF = b"\r\n"


def info_line(info: dict) -> bytes:
    # nats-server writes a space before the CRLF; clients accept it either way.
    return b"INFO " + json.dumps(info, separators=(",", ":")).encode() + b" \r\n"


def error_line(text: str) -> bytes:
    return f"-ERR '{text}'\r\n".encode()


def go_quote(text: str) -> str:
    """Go's %q for the subjects quoted in permission errors."""
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif char == "\n":
            escaped.append("\\n")
        elif char == "\t":
            escaped.append("\\t")
        elif char == "\r":
            escaped.append("\\r")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\x{ord(char):02x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


class SizeFields:
    """Cache of the `<size>\\r\\n` and `<hsize> <size>\\r\\n` tails of MSG/HMSG lines."""

    def __init__(self, limit: int = 4096) -> None:
        self._sizes: dict[int, bytes] = {}
        self._limit = limit

    def size_tail(self, size: int) -> bytes:
        tail = self._sizes.get(size)
        if tail is None:
            tail = b"%d\r\n" % size
            if len(self._sizes) < self._limit:
                self._sizes[size] = tail
        return tail
