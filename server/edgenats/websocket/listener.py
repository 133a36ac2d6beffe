"""The WebSocket listener for NATS clients and leaf nodes: the HTTP upgrade (parsed with h11, checked
in nats-server's order with its status codes: 405 not GET, 400 bad upgrade headers, 403 origin), then
an unchanged ClientConnection on a WebSocketTransport, or, for a path ending in `/leafnode`, an accepted
leaf link (the leaf port's handshake and authorization; refused after the upgrade, as nats-server does,
when the server has no leaf port).

A WebSocket client sees the server through `WebSocketClientHost`: its own INFO (the WebSocket
host and port, `tls_required` only for wss) and, when the `websocket` block has an authorization
override, its own authenticator. Everything else (accounts, registry, flushing) is the server's.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import logging
from typing import TYPE_CHECKING

import h11
from wsproto.connection import Connection as Framing
from wsproto.connection import ConnectionType
from wsproto.extensions import PerMessageDeflate
from wsproto.utilities import generate_accept_token

from edgenats.auth import AuthConfigError, Authenticator
from edgenats.auth.identity import WEBSOCKET
from edgenats.client import ClientConnection
from edgenats.listen_errors import opening
from edgenats.listener import Listener, bind_listening_socket
from edgenats.tls import server_tls_context
from edgenats.websocket.adapter import LEAF_PATH, AdapterState, WebSocketAdapter
from edgenats.websocket.config import Origin, WebSocketSettings

if TYPE_CHECKING:
    from edgenats.surface import ServerSurface

log = logging.getLogger("edgenats")

# nats-server answers compression offers with exactly this (no context kept between messages).
_DEFLATE_RESPONSE = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
# Browsers get outbound data in frames of at most 4 KiB (nats-server found they cope better).
_BROWSER_FRAME = 4096
_STATUS_TEXT = {400: "Bad Request", 403: "Forbidden", 405: "Method Not Allowed"}


class HandshakeRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def _header_tokens(headers: list[tuple[bytes, bytes]], name: bytes) -> list[str]:
    return [token.strip().lower() for key, value in headers if key == name
            for token in value.decode("latin-1").split(",")]


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str:
    return next((value.decode("latin-1") for key, value in headers if key == name), "")


class WebSocketClientHost:
    """The server as its WebSocket clients see it: the host a ClientConnection is created with."""

    # A WebSocket client's TLS is the listener's (wss), never the client port's upgrade.
    client_tls = None
    # What a user JWT's `allowed_connection_types` must name for these clients.
    connection_type = WEBSOCKET

    def __init__(self, server: ServerSurface, listener: WebSocketListener) -> None:
        self._server = server
        self._listener = listener
        self._settings = listener.settings
        self._override = self._build_override() if self._settings.auth_override else None
        # Without an override, the server's authenticator with the WebSocket auth timeout (if set).
        self._timed_for: Authenticator | None = None
        self._timed: Authenticator | None = None

    def _build_override(self) -> Authenticator:
        settings = self._settings
        options = self._server.options
        if settings.no_auth_user:
            block = dict(options.authorization or {})
        elif settings.token:
            block = {"token": settings.token}
        else:
            block = {"user": settings.user, "password": settings.password}
        if settings.auth_timeout:
            block["timeout"] = settings.auth_timeout
        return Authenticator.from_config(block, options.accounts, settings.no_auth_user or None)

    def __getattr__(self, name: str):
        # Everything not WebSocket-specific is the server's own (registry, accounts, options, flushing).
        return getattr(self._server, name)

    @property
    def slow_consumers(self) -> int:
        return self._server.slow_consumers

    @slow_consumers.setter
    def slow_consumers(self, value: int) -> None:
        self._server.slow_consumers = value

    @property
    def stale_connections(self) -> int:
        return self._server.stale_connections

    @stale_connections.setter
    def stale_connections(self, value: int) -> None:
        self._server.stale_connections = value

    @property
    def authenticator(self) -> Authenticator:
        if self._override is not None:
            return self._override
        main = self._server.authenticator
        if not self._settings.auth_timeout:
            return main
        if self._timed_for is not main:
            self._timed_for = main
            self._timed = copy.copy(main)
            self._timed.timeout = self._settings.auth_timeout
        return self._timed

    def client_info(self, connection: ClientConnection, connect_info: bool = False) -> dict:
        info = self._server.client_info(connection, connect_info)
        info["host"] = self._settings.host
        info["port"] = self._listener.port
        for key in ("auth_required", "tls_required", "tls_verify"):
            info.pop(key, None)
        if self.authenticator.auth_required:
            info["auth_required"] = True
        if self._listener.tls_context is not None:
            info["tls_required"] = info["tls_available"] = True
        return info


class UpgradeProtocol(WebSocketAdapter):
    """One accepted TCP (or TLS) connection: the HTTP upgrade, then a client session on WebSocket."""

    def __init__(self, listener: WebSocketListener) -> None:
        super().__init__()
        self.listener = listener
        self.http = h11.Connection(h11.SERVER)
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        timeout = self.listener.settings.handshake_timeout
        if timeout:
            self._timer = self.listener.server.loop.call_later(timeout, self._handshake_timeout)

    def _handshake_timeout(self) -> None:
        if self.state is AdapterState.UPGRADING:
            log.error("%s - websocket handshake error: handshake timeout", self._peer())
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        if self.state is AdapterState.OPEN:
            self.frames_received(data)
        elif self.state is AdapterState.UPGRADING:
            self._upgrade_data(data)

    def _upgrade_data(self, data: bytes) -> None:
        self.http.receive_data(data)
        try:
            event = self.http.next_event()
        except h11.RemoteProtocolError:
            self._refuse(HandshakeRefused(400, "bad HTTP request"))
            return
        if not isinstance(event, h11.Request):
            return
        try:
            self._check(event)
        except HandshakeRefused as refusal:
            self._refuse(refusal)
            return
        self._accept(event)

    def _check(self, request: h11.Request) -> None:
        """nats-server's checks, in its order (RFC 6455 section 4.2.1), then the origin."""
        headers = [(key.lower(), value) for key, value in request.headers]
        if request.method != b"GET":
            raise HandshakeRefused(405, "request method must be GET")
        if not _header(headers, b"host"):
            raise HandshakeRefused(400, "'Host' missing in request")
        if "websocket" not in _header_tokens(headers, b"upgrade"):
            raise HandshakeRefused(400, "invalid value for header 'Upgrade'")
        if "upgrade" not in _header_tokens(headers, b"connection"):
            raise HandshakeRefused(400, "invalid value for header 'Connection'")
        key = _header(headers, b"sec-websocket-key")
        if not key:
            raise HandshakeRefused(400, "key missing")
        try:
            if len(base64.b64decode(key, validate=True)) != 16:
                raise HandshakeRefused(400, "invalid websocket key")
        except binascii.Error:
            raise HandshakeRefused(400, "invalid websocket key") from None
        if "13" not in _header_tokens(headers, b"sec-websocket-version"):
            raise HandshakeRefused(400, "invalid version")
        problem = self.listener.origin_problem(headers)
        if problem:
            raise HandshakeRefused(403, f"origin not allowed: {problem}")

    def _refuse(self, refusal: HandshakeRefused) -> None:
        log.error("%s - websocket handshake error: %s", self._peer(), refusal)
        status = refusal.status
        body = f"{_STATUS_TEXT[status]}\n".encode()
        headers = [
            (b"Content-Type", b"text/plain; charset=utf-8"),
            (b"Sec-Websocket-Version", b"13"),
            (b"X-Content-Type-Options", b"nosniff"),
            (b"Content-Length", str(len(body)).encode()),
            (b"Connection", b"close"),
        ]
        self.state = AdapterState.CLOSED
        self._cancel_timer()
        if self.http.our_state is h11.SEND_RESPONSE:
            response = h11.Response(status_code=status, headers=headers, reason=_STATUS_TEXT[status].encode())
            self.transport.write(self.http.send(response) + self.http.send(h11.Data(data=body))
                                 + self.http.send(h11.EndOfMessage()))
        self.transport.close()

    def _accept(self, request: h11.Request) -> None:
        headers = [(key.lower(), value) for key, value in request.headers]
        settings = self.listener.settings
        response = [
            (b"Upgrade", b"websocket"),
            (b"Connection", b"Upgrade"),
            (b"Sec-WebSocket-Accept", generate_accept_token(_header(headers, b"sec-websocket-key").encode())),
        ]
        extensions = []
        offers = _header_tokens(headers, b"sec-websocket-extensions")
        if settings.compression and any(offer.split(";")[0].strip() == "permessage-deflate" for offer in offers):
            deflate = PerMessageDeflate(client_no_context_takeover=True, server_no_context_takeover=True)
            deflate.finalize(_DEFLATE_RESPONSE)
            extensions.append(deflate)
            response.append((b"Sec-WebSocket-Extensions", _DEFLATE_RESPONSE.encode()))
        self.transport.write(self.http.send(h11.InformationalResponse(
            status_code=101, headers=response, reason=b"Switching Protocols")))
        self._cancel_timer()
        framing = Framing(ConnectionType.SERVER, extensions)
        path = request.target.partition(b"?")[0].decode("latin-1")
        if path.endswith(f"/{LEAF_PATH}"):
            leafnodes = self.listener.server.leafnodes
            if leafnodes is None or not leafnodes.settings.listen:
                # nats-server upgrades, then closes without a word to the leaf.
                log.error("%s - Not configured to accept leaf node connections", self._peer())
                self.state = AdapterState.CLOSED
                self.transport.close()
                return
            self.open(leafnodes.accept(websocket=True), framing)
        else:
            browser = _header(headers, b"user-agent").startswith("Mozilla/")
            max_frame = _BROWSER_FRAME if browser and not extensions else 0
            self.open(ClientConnection(self.listener.host), framing, max_frame)
        trailing, _ = self.http.trailing_data
        if trailing and self.state is AdapterState.OPEN:
            self.frames_received(trailing)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        super().connection_lost(exc)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _peer(self) -> str:
        peer = self.transport.get_extra_info("peername") or ("?", 0)
        return f"{peer[0]}:{peer[1]}"


class WebSocketListener:
    """The `websocket` port: accepts TCP (or TLS), upgrades, and hands clients to the server."""

    def __init__(self, server: ServerSurface, settings: WebSocketSettings) -> None:
        self.server = server
        self.settings = settings
        self.tls_context = server_tls_context(settings.tls) if settings.tls is not None else None
        try:
            self.host = WebSocketClientHost(server, self)
        except AuthConfigError as error:
            raise ValueError(f"websocket.authorization: {error}") from None
        self._origins = settings.origins()
        self._listener: Listener | None = None

    async def start(self) -> None:
        settings = self.settings
        host = None if settings.host in ("", "0.0.0.0") else settings.host
        with opening("websocket clients", settings.host, settings.port, "`port` in the `websocket` block"):
            sock = bind_listening_socket(host, max(settings.port, 0))
        self._listener = Listener(
            self.server.loop, "Websocket", sock, lambda: UpgradeProtocol(self), self.tls_context,
            settings.tls.timeout if settings.tls is not None else None,
        )
        self._listener.start()
        scheme = "wss" if self.tls_context is not None else "ws"
        log.info("Listening for websocket clients on %s://%s:%d", scheme, settings.host, self.port)
        if self.tls_context is None:
            log.warning("Websocket not configured with TLS. DO NOT USE IN PRODUCTION!")

    @property
    def port(self) -> int:
        """The bound port (the configured one, or the one the system picked for `port: -1`)."""
        return self.settings.port if self._listener is None else self._listener.port

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()

    def origin_problem(self, headers: list[tuple[bytes, bytes]]) -> str:
        """Why the request's Origin is refused ("" when allowed), as nats-server decides it."""
        settings = self.settings
        if not settings.same_origin and not self._origins:
            return ""
        text = _header(headers, b"origin") or _header(headers, b"sec-websocket-origin")
        if not text:
            return ""
        origin = Origin.parse(text)
        if origin is None:
            return f"invalid origin {text!r}"
        if settings.same_origin:
            scheme = "https" if self.tls_context is not None else "http"
            own = Origin.parse(f"{scheme}://{_header(headers, b'host')}")
            if own != origin:
                return "not same origin"
        if self._origins and origin not in self._origins:
            return "not in the allowed list"
        return ""
