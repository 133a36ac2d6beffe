"""A raw WebSocket client for the wire tests: a blocking socket, the handshake and frames parsed by
wsproto, so tests can assert on the exact upgrade response and on each frame the server sends.
"""

from __future__ import annotations

import socket

import h11
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.extensions import PerMessageDeflate


def raw_upgrade(port: int, request: bytes, timeout: float = 5.0) -> h11.Response | h11.InformationalResponse:
    """Send a hand-written HTTP request to the WebSocket port; the response head as h11 reads it."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        http = h11.Connection(h11.CLIENT)
        http.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
        while True:
            event = http.next_event()
            if event is h11.NEED_DATA:
                http.receive_data(sock.recv(65536))
                continue
            return event


class WsWire:
    """One WebSocket to a server; `accepted` or `rejected` says how the upgrade went."""

    def __init__(self, port: int, headers: list[tuple[str, str]] | None = None, compress: bool = False,
                 timeout: float = 5.0, receive_buffer: int = 0, path: str = "/") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if receive_buffer:
            # Set before connecting, so the TCP window stays this small (slow-consumer tests).
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.connect(("127.0.0.1", port))
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.accepted: AcceptConnection | None = None
        self.rejected: RejectConnection | None = None
        self.reject_body = b""
        self.reject_complete = False
        self.pending: list[Event] = []
        extensions = [PerMessageDeflate()] if compress else []
        self.sock.sendall(self.ws.send(Request(host=f"127.0.0.1:{port}", target=path, extensions=extensions,
                                               extra_headers=headers or [])))
        while self.accepted is None and self.rejected is None:
            self._read_events()
        while self.rejected is not None and not self.reject_complete:
            self._read_events()

    def _read_events(self) -> None:
        data = self.sock.recv(65536)
        self.ws.receive_data(data or None)
        events = list(self.ws.events())
        for event in events:
            if isinstance(event, AcceptConnection):
                self.accepted = event
            elif isinstance(event, RejectConnection):
                self.rejected = event
            elif isinstance(event, RejectData):
                self.reject_body += event.data
                self.reject_complete = event.body_finished
            else:
                self.pending.append(event)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> WsWire:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def next_event(self) -> Event:
        """The next frame-level event (messages, pings, pongs, close) the server sent."""
        while not self.pending:
            self._read_events()
        return self.pending.pop(0)

    def read_until(self, marker: bytes) -> bytes:
        """Message payloads concatenated up to and including `marker`; the messages must be binary."""
        data = b""
        while marker not in data:
            event = self.next_event()
            assert isinstance(event, BytesMessage), event
            data += event.data
        return data

    def send(self, data: bytes) -> None:
        self.sock.sendall(self.ws.send(Message(data=data)))

    def send_event(self, event: Event) -> None:
        self.sock.sendall(self.ws.send(event))

    def drain_to_close(self) -> None:
        """Read and discard until the server ends the connection (socket timeout if it never does)."""
        try:
            while self.sock.recv(1 << 20):
                pass
        except ConnectionResetError:
            pass

    def peer_closed(self) -> bool:
        """True once the server has closed the TCP connection (reads to the end)."""
        try:
            return self.sock.recv(65536) == b""
        except ConnectionResetError:
            return True


__all__ = ["BytesMessage", "CloseConnection", "Ping", "Pong", "TextMessage", "WsWire", "raw_upgrade"]
