"""Prebuilt protocol frames for the load generator, and counting frame markers in a received byte stream.

Payloads are made of one filler byte that cannot take part in any marker we count (b"MSG ", b"PONG\r\n"),
so counting markers in raw bytes counts frames exactly without parsing them.
"""

from __future__ import annotations

import socket

from edgenats.bench.errors import BenchError

PAYLOAD_FILL = b"x"
MSG_MARKER = b"MSG "
PONG_MARKER = b"PONG\r\n"
PING_FRAME = b"PING\r\n"
PONG_FRAME = b"PONG\r\n"
RECEIVE_BUFFER_BYTES = 1 << 20


def payload(size: int) -> bytes:
    return PAYLOAD_FILL * size


def pub_frame(subject: str, body: bytes, reply_to: str | None = None) -> bytes:
    reply_part = f" {reply_to}" if reply_to else ""
    return f"PUB {subject}{reply_part} {len(body)}\r\n".encode() + body + b"\r\n"


def sub_frame(subject: str, sid: int, queue_group: str | None = None) -> bytes:
    queue_part = f" {queue_group}" if queue_group else ""
    return f"SUB {subject}{queue_part} {sid}\r\n".encode()


class MarkerCounter:
    """Counts occurrences of a marker in what a socket delivers, reading into one reusable buffer.

    The last len(marker)-1 bytes of each read are kept in front of the next one, so a marker split
    across two reads is counted once; the markers we count have no prefix that is also their suffix,
    so a kept tail can never be counted twice.
    """

    def __init__(self, marker: bytes, buffer_bytes: int = RECEIVE_BUFFER_BYTES) -> None:
        self.marker = marker
        self._buffer = bytearray(buffer_bytes)
        self._view = memoryview(self._buffer)
        self._kept = 0

    def read_from(self, sock: socket.socket) -> int:
        """One recv_into; returns the markers completed by it. Raises BenchError if the server closed."""
        received = sock.recv_into(self._view[self._kept:])
        end = self._kept + received
        if received == 0:
            tail = bytes(self._buffer[:end]).decode(errors="replace").strip()
            raise BenchError("the server closed the connection" + (f" ({tail})" if tail else ""))
        error_at = self._buffer.find(b"-ERR", 0, end)
        if error_at >= 0:
            line_end = self._buffer.find(b"\r\n", error_at, end)
            line = bytes(self._buffer[error_at:line_end if line_end >= 0 else end])
            raise BenchError(f"server error: {line.decode(errors='replace')}")
        found = self._buffer.count(self.marker, 0, end)
        keep = min(len(self.marker) - 1, end)
        self._buffer[:keep] = self._buffer[end - keep:end]
        self._kept = keep
        return found
