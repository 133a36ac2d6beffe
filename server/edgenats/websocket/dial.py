"""Dialling out over WebSocket, for leaf remotes with ws:// and wss:// URLs: TCP to the hub (or an
HTTP CONNECT tunnel through a proxy, as nats-server 2.11+ does), TLS for wss, the upgrade request to
`<path>/leafnode` (wsproto, which parses with h11), then the connection on a WebSocketTransport.

Dialler adapter states: TUNNELLING (CONNECT sent to the proxy) -> UPGRADING (upgrade request sent)
-> OPEN -> CLOSED. A refusal at either step fails the dial with ConnectionError.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import TYPE_CHECKING

import h11
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, RejectConnection, Request
from wsproto.extensions import PerMessageDeflate

from edgenats.connection import Connection
from edgenats.leafnode.config import ProxySettings, RemoteURL
from edgenats.websocket.adapter import LEAF_PATH, AdapterState, WebSocketAdapter

if TYPE_CHECKING:
    import ssl


class DialAdapter(WebSocketAdapter):
    def __init__(self, loop: asyncio.AbstractEventLoop, make_connection: Callable[[], Connection]) -> None:
        super().__init__()
        self.make_connection = make_connection
        self.websocket = WSConnection(ConnectionType.CLIENT)
        self.http: h11.Connection | None = None
        self._loop = loop
        # The step in progress (tunnel, then upgrade): what the dialling coroutine awaits.
        self._step: asyncio.Future = loop.create_future()

    def tunnel(self, target: str, proxy: ProxySettings) -> asyncio.Future:
        """Ask the proxy for a tunnel to `target` (host:port); the future resolves when it answers 200."""
        self.state = AdapterState.TUNNELLING
        self._step = self._loop.create_future()
        self.http = h11.Connection(h11.CLIENT)
        headers = [("Host", target)]
        if proxy.username:
            token = base64.b64encode(f"{proxy.username}:{proxy.password}".encode()).decode()
            headers.append(("Proxy-Authorization", f"Basic {token}"))
        self.transport.write(self.http.send(h11.Request(method="CONNECT", target=target, headers=headers))
                             + self.http.send(h11.EndOfMessage()))
        return self._step

    def upgrade(self, url: RemoteURL, compression: bool) -> asyncio.Future:
        """Send the upgrade request; the future resolves to the connection once the hub answers 101."""
        self.state = AdapterState.UPGRADING
        self._step = self._loop.create_future()
        base = url.path.strip("/")
        extensions = [PerMessageDeflate(client_no_context_takeover=True, server_no_context_takeover=True)]
        self.transport.write(self.websocket.send(Request(
            host=f"{url.host}:{url.port}", target=f"/{base}/{LEAF_PATH}" if base else f"/{LEAF_PATH}",
            extensions=extensions if compression else [],
        )))
        return self._step

    def data_received(self, data: bytes) -> None:
        if self.state is AdapterState.OPEN:
            self.frames_received(data)
        elif self.state is AdapterState.UPGRADING:
            self._upgrade_data(data)
        elif self.state is AdapterState.TUNNELLING:
            self._tunnel_data(data)

    def _tunnel_data(self, data: bytes) -> None:
        self.http.receive_data(data)
        try:
            event = self.http.next_event()
        except h11.RemoteProtocolError as error:
            self._fail(f"bad response from proxy: {error}")
            return
        if isinstance(event, h11.Response):
            if event.status_code != 200:
                self._fail(f"proxy CONNECT failed: {event.status_code} {event.reason.decode('latin-1')}")
            else:
                self._step.set_result(None)

    def _upgrade_data(self, data: bytes) -> None:
        self.websocket.receive_data(data)
        for event in self.websocket.events():
            if isinstance(event, AcceptConnection):
                connection = self.make_connection()
                self.open(connection, self.websocket)
                self._step.set_result(connection)
                break
            if isinstance(event, RejectConnection):
                self._fail(f"invalid websocket connection: HTTP {event.status_code}")
                return
        if self.state is AdapterState.OPEN:
            # Frames that came with the 101 (the hub's INFO) are waiting in wsproto.
            self.frames_received(b"")

    def _fail(self, reason: str) -> None:
        self.state = AdapterState.CLOSED
        if not self._step.done():
            self._step.set_exception(ConnectionError(reason))
        self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._step.done():
            self._step.set_exception(ConnectionError(f"connection closed during the {self.state.value} step"))
        super().connection_lost(exc)


async def dial(loop: asyncio.AbstractEventLoop, url: RemoteURL, make_connection: Callable[[], Connection],
               tls: ssl.SSLContext | None, server_hostname: str, compression: bool,
               proxy: ProxySettings | None) -> Connection:
    """Open a WebSocket to `url` and put the connection `make_connection()` builds on it."""
    adapter = DialAdapter(loop, make_connection)
    if proxy is None:
        await loop.create_connection(lambda: adapter, url.host, url.port, ssl=tls,
                                     server_hostname=server_hostname if tls else None)
    else:
        transport, _ = await loop.create_connection(lambda: adapter, proxy.host, proxy.port)
        try:
            await adapter.tunnel(f"{url.host}:{url.port}", proxy)
            if tls is not None:
                adapter.transport = await loop.start_tls(transport, adapter, tls, server_hostname=server_hostname)
        except BaseException:
            transport.abort()
            raise
    try:
        return await adapter.upgrade(url, compression)
    except BaseException:
        adapter.transport.abort()
        raise
