"""The part of a WebSocket adapter both ends share: once the upgrade is done, frames read from the
socket become `data_received` calls on the unchanged connection (client session or leaf link),
pings are answered, a Close is answered and ends the TCP connection, and the underlying transport's
flow control reaches the connection.

Adapter states (subclasses add their handshake states before OPEN):
  OPEN     frames <-> connection, through a WebSocketTransport
  CLOSED   the TCP connection is gone
"""

from __future__ import annotations

import asyncio
from enum import Enum

from wsproto import ConnectionState, WSConnection
from wsproto.connection import Connection as Framing
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.utilities import LocalProtocolError

from edgenats.connection import Connection
from edgenats.websocket.transport import WebSocketTransport

# The upgrade path's last segment that makes the connection a leaf link rather than a client (as nats-server).
LEAF_PATH = "leafnode"


class AdapterState(Enum):
    TUNNELLING = "tunnelling"  # dialling side: HTTP CONNECT through a proxy
    UPGRADING = "upgrading"  # HTTP upgrade request sent or awaited
    OPEN = "open"
    CLOSED = "closed"


class WebSocketAdapter(asyncio.Protocol):
    """The asyncio protocol on the TCP (or TLS) transport; the connection sits on top once OPEN."""

    def __init__(self) -> None:
        self.state = AdapterState.UPGRADING
        self.transport: asyncio.Transport | None = None
        self.framing: WSConnection | Framing | None = None
        self.connection: Connection | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def open(self, connection: Connection, framing: WSConnection | Framing, max_frame: int = 0) -> None:
        """The upgrade succeeded: from now on `connection` reads and writes WebSocket messages."""
        self.state = AdapterState.OPEN
        self.framing = framing
        self.connection = connection
        transport = WebSocketTransport(self.transport, framing, max_frame)
        transport.set_protocol(connection)
        connection.connection_made(transport)

    def frames_received(self, data: bytes) -> None:
        framing = self.framing
        try:
            framing.receive_data(data)
        except LocalProtocolError:
            # Bytes after the Close handshake finished: nothing more to read.
            return
        for event in framing.events():
            if self.connection.closed:
                return
            if isinstance(event, BytesMessage):
                self.connection.data_received(bytes(event.data))
            elif isinstance(event, TextMessage):
                self.connection.data_received(event.data.encode())
            elif isinstance(event, Ping):
                self.transport.write(framing.send(event.response()))
            elif isinstance(event, CloseConnection):
                self._close_received(event)
                return

    def _close_received(self, event: CloseConnection) -> None:
        """The peer closed (or its frames were invalid: wsproto reports that as a Close to send)."""
        if self.framing.state in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            self.transport.write(self.framing.send(event.response()))
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.state = AdapterState.CLOSED
        if self.connection is not None:
            self.connection.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.connection is not None:
            self.connection.pause_writing()

    def resume_writing(self) -> None:
        if self.connection is not None:
            self.connection.resume_writing()
