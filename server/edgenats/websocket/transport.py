"""The transport a connection is handed once a WebSocket is open: `write()` sends binary messages
through wsproto on the TCP (or TLS) transport underneath; everything the plumbing checks (peer
address, socket, write buffer size, closing) is the underlying transport's, so the slow-consumer
cut-off sees the real backlog. `close()` sends a Close frame whose status code follows from the
connection's close reason, with nats-server's mapping.
"""

from __future__ import annotations

import asyncio

from wsproto import ConnectionState, WSConnection
from wsproto.connection import Connection as Framing
from wsproto.events import CloseConnection, Message

from edgenats.connection import Connection

# nats-server's status codes for its close reasons (RFC 6455 section 7.4.1).
_NORMAL = 1000
_GOING_AWAY = 1001
_PROTOCOL_ERROR = 1002
_POLICY_VIOLATION = 1008
_MESSAGE_TOO_BIG = 1009
_INTERNAL_ERROR = 1011
_CLOSE_CODES = {
    "Client Closed": _NORMAL,
    "Authentication Timeout": _POLICY_VIOLATION,
    "Authentication Failure": _POLICY_VIOLATION,
    "Slow Consumer (Pending Bytes)": _POLICY_VIOLATION,
    "Slow Consumer (Write Deadline)": _POLICY_VIOLATION,
    "Maximum Connections Exceeded": _POLICY_VIOLATION,
    "Maximum Control Line Exceeded": _POLICY_VIOLATION,
    "Maximum Subscriptions Exceeded": _POLICY_VIOLATION,
    "Parse Error": _PROTOCOL_ERROR,
    "Protocol Violation": _PROTOCOL_ERROR,
    "Maximum Message Payload Exceeded": _MESSAGE_TOO_BIG,
    "Stale Connection": _GOING_AWAY,
    "Server Shutdown": _GOING_AWAY,
}
# The payload of a control frame is at most 125 bytes: the status code and up to 123 of text.
_CLOSE_TEXT_MAX = 123


def close_status(reason: str) -> tuple[int, str]:
    """The Close frame's status code and text for a connection's close reason."""
    text = reason if len(reason) <= _CLOSE_TEXT_MAX else reason[: _CLOSE_TEXT_MAX - 3] + "..."
    return _CLOSE_CODES.get(reason, _INTERNAL_ERROR), text


class WebSocketTransport(asyncio.Transport):
    """A message-oriented view of an open WebSocket, shaped like the asyncio transport it wraps."""

    def __init__(self, raw: asyncio.Transport, websocket: WSConnection | Framing, max_frame: int = 0) -> None:
        super().__init__()
        self.raw = raw
        self.websocket = websocket
        # Browsers get outbound data in frames of at most this many bytes (0: one frame per write).
        self.max_frame = max_frame
        self._protocol: Connection | None = None
        self._closing = False

    # the connection's view ---------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self._closing or self.websocket.state is not ConnectionState.OPEN:
            return
        websocket = self.websocket
        if self.max_frame and len(data) > self.max_frame:
            step = self.max_frame
            frames = b"".join(websocket.send(Message(data=data[start:start + step]))
                              for start in range(0, len(data), step))
        else:
            frames = websocket.send(Message(data=data))
        self.raw.write(frames)

    def close(self) -> None:
        """A Close frame (status from the connection's close reason), then the TCP close after it."""
        if self._closing:
            return
        self._closing = True
        if self.websocket.state in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            code, text = close_status(self._protocol.close_reason)
            self.raw.write(self.websocket.send(CloseConnection(code=code, reason=text)))
        self.raw.close()

    def abort(self) -> None:
        self._closing = True
        self.raw.abort()

    def is_closing(self) -> bool:
        return self._closing or self.raw.is_closing()

    def get_extra_info(self, name, default=None):
        return self.raw.get_extra_info(name, default)

    def get_write_buffer_size(self) -> int:
        return self.raw.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self.raw.get_write_buffer_limits()

    def set_write_buffer_limits(self, high=None, low=None) -> None:
        self.raw.set_write_buffer_limits(high, low)

    def pause_reading(self) -> None:
        self.raw.pause_reading()

    def resume_reading(self) -> None:
        self.raw.resume_reading()

    def is_reading(self) -> bool:
        return self.raw.is_reading()

    def set_protocol(self, protocol: Connection) -> None:
        self._protocol = protocol

    def get_protocol(self) -> Connection | None:
        return self._protocol
