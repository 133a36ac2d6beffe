"""Framing of server -> client operations: INFO, PING/PONG, +OK and -ERR."""

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
