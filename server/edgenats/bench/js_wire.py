"""Raw-socket JetStream plumbing for the load generator: a reader that splits MSG/HMSG frames off a
connection (answering the server's PINGs), and blocking `$JS.API` requests to set up and check the
streams and consumers a JetStream scenario uses."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass

from edgenats.bench.errors import BenchError
from edgenats.bench.frames import PONG_FRAME, pub_frame, sub_frame
from edgenats.bench.wire import Endpoint, open_connection

READ_BYTES = 1 << 18
API_INBOX = "_INBOX.bench-api"
API_TIMEOUT_S = 10.0


@dataclass(slots=True)
class Frame:
    subject: bytes
    reply: bytes | None
    headers: bytes | None
    payload: bytes


class FrameReader:
    """Splits the MSG and HMSG frames off one connection; PINGs are answered, -ERR raises."""

    def __init__(self, sock: socket.socket, stall_timeout_s: float) -> None:
        self.sock = sock
        self._pending = bytearray()
        self._stall_timeout_s = stall_timeout_s
        sock.settimeout(stall_timeout_s)

    def read(self) -> list[Frame]:
        """One recv (waiting up to the stall timeout); the frames it completed."""
        try:
            data = self.sock.recv(READ_BYTES)
        except TimeoutError:
            raise BenchError(f"nothing arrived within {self._stall_timeout_s:g}s") from None
        if not data:
            raise BenchError("the server closed the connection")
        self._pending += data
        frames, consumed, pings = _split(self._pending)
        del self._pending[:consumed]
        if pings:
            self.sock.sendall(PONG_FRAME * pings)
        return frames


def _split(buffer: bytearray) -> tuple[list[Frame], int, int]:
    frames: list[Frame] = []
    position, end, pings = 0, len(buffer), 0
    while (line_end := buffer.find(b"\r\n", position)) >= 0:
        if buffer.startswith(b"MSG ", position) or buffer.startswith(b"HMSG ", position):
            with_headers = buffer[position] == ord("H")
            fields = bytes(buffer[position + (5 if with_headers else 4):line_end]).split()
            total = int(fields[-1])
            start = line_end + 2
            if start + total + 2 > end:
                break
            header_size = int(fields[-2]) if with_headers else 0
            has_reply = len(fields) == (5 if with_headers else 4)
            frames.append(Frame(fields[0], fields[2] if has_reply else None,
                                bytes(buffer[start:start + header_size]) if with_headers else None,
                                bytes(buffer[start + header_size:start + total])))
            position = start + total + 2
            continue
        if buffer.startswith(b"PING", position):
            pings += 1
        elif buffer.startswith(b"-ERR", position):
            raise BenchError(f"server error: {bytes(buffer[position:line_end]).decode(errors='replace')}")
        position = line_end + 2
    return frames, position, pings


class ApiClient:
    """One connection for `$JS.API` requests, answered one at a time."""

    def __init__(self, endpoint: Endpoint, stall_timeout_s: float) -> None:
        sock = open_connection(endpoint, "bench-js-api", sub_frame(API_INBOX, 1), headers=True)
        self._reader = FrameReader(sock, stall_timeout_s)

    def request(self, subject: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else b""
        self._reader.sock.sendall(pub_frame(subject, data, API_INBOX))
        deadline = time.monotonic() + API_TIMEOUT_S
        while time.monotonic() < deadline:
            for frame in self._reader.read():
                return json.loads(frame.payload)
        raise BenchError(f"no answer to {subject}")

    def checked(self, subject: str, body: dict | None = None) -> dict:
        """A request whose answer must not be an error."""
        answer = self.request(subject, body)
        if "error" in answer:
            raise BenchError(f"{subject}: {answer['error'].get('description', answer['error'])}")
        return answer

    def create_stream(self, config: dict) -> None:
        self.request(f"$JS.API.STREAM.DELETE.{config['name']}")  # left over from an interrupted run
        self.checked(f"$JS.API.STREAM.CREATE.{config['name']}", config)

    def stream_state(self, name: str) -> dict:
        return self.checked(f"$JS.API.STREAM.INFO.{name}")["state"]

    def delete_stream(self, name: str) -> None:
        self.request(f"$JS.API.STREAM.DELETE.{name}")

    def close(self) -> None:
        self._reader.sock.close()
