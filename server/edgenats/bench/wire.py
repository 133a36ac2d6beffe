"""Raw-socket NATS connections for the load generator: the handshake (INFO, CONNECT, PING/PONG) only.

Everything after the handshake is bulk bytes that the load-generating code writes and counts itself.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass

from edgenats import __version__
from edgenats.bench.errors import BenchError
from edgenats.bench.frames import PING_FRAME

HANDSHAKE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Endpoint:
    """Where the server under test listens and how to authenticate to it."""

    host: str
    port: int
    user: str | None = None
    password: str | None = None
    token: str | None = None

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"


def connect_frame(endpoint: Endpoint, name: str, headers: bool = False) -> bytes:
    options: dict[str, object] = {
        "verbose": False, "pedantic": False, "echo": True, "protocol": 1, "headers": headers,
        "lang": "edgenats-bench", "version": __version__, "name": name,
    }
    if endpoint.user is not None:
        options["user"] = endpoint.user
        options["pass"] = endpoint.password or ""
    if endpoint.token is not None:
        options["auth_token"] = endpoint.token
    return b"CONNECT " + json.dumps(options, separators=(",", ":")).encode() + b"\r\n"


def open_connection(endpoint: Endpoint, name: str, setup: bytes = b"", headers: bool = False) -> socket.socket:
    """Connect, send CONNECT plus `setup` (e.g. SUB frames) and return once the server answered PONG.
    With `headers` the connection takes HMSG frames (JetStream status messages)."""
    try:
        sock = socket.create_connection((endpoint.host, endpoint.port), timeout=HANDSHAKE_TIMEOUT_S)
    except ConnectionRefusedError:
        raise BenchError(f"cannot connect to {endpoint.label}: connection refused") from None
    except OSError as error:
        raise BenchError(f"cannot connect to {endpoint.label}: {error.strerror or error}") from None
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _read_until(sock, b"\r\n", b"", endpoint)
        sock.sendall(connect_frame(endpoint, name, headers) + setup + PING_FRAME)
        _read_until(sock, b"PONG\r\n", b"", endpoint)
    except BaseException:
        sock.close()
        raise
    return sock


def _read_until(sock: socket.socket, marker: bytes, received: bytes, endpoint: Endpoint) -> bytes:
    while marker not in received:
        error_at = received.find(b"-ERR")
        if error_at >= 0 and b"\r\n" in received[error_at:]:
            line = received[error_at:received.index(b"\r\n", error_at)].decode(errors="replace")
            raise BenchError(f"{endpoint.label} refused the connection: {line}")
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise BenchError(f"{endpoint.label} did not complete the handshake in time") from None
        except OSError as error:
            raise BenchError(f"{endpoint.label} dropped the connection: {error}") from None
        if not chunk:
            said = received.decode(errors="replace").strip()
            raise BenchError(f"{endpoint.label} closed the connection during the handshake"
                             + (f" ({said})" if said else ""))
        received += chunk
    return received
