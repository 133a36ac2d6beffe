"""The WebSocket port on the wire, against both servers: the upgrade response and its refusals, what
INFO says over WebSocket, binary frames, compression negotiation, pings and closing.
"""

from __future__ import annotations

import base64
import json
import os

import pytest
from ws_wire import BytesMessage, CloseConnection, Ping, Pong, WsWire, raw_upgrade


def info_of(wire: WsWire) -> dict:
    line = wire.read_until(b"\r\n")
    assert line.startswith(b"INFO ")
    return json.loads(line[5:])


def test_upgrade_then_info_in_a_binary_message(ws_server):
    with WsWire(ws_server.ws_port) as wire:
        assert wire.accepted is not None
        assert wire.accepted.extensions == []
        first = wire.next_event()
        assert isinstance(first, BytesMessage)
        assert first.data.startswith(b"INFO {")
        info = json.loads(first.data[5:].split(b"\r\n")[0])
    # Over WebSocket INFO names the WebSocket listener, and plain ws says nothing of TLS.
    assert info["host"] == "127.0.0.1"
    assert info["port"] == ws_server.ws_port
    assert "tls_required" not in info
    assert "auth_required" not in info
    assert info["headers"] is True


def test_session_over_frames(ws_server):
    with WsWire(ws_server.ws_port) as wire:
        info_of(wire)
        wire.send(b'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n')
        # A protocol line split over two messages still parses: the stream is what counts.
        wire.send(b"SUB wire.")
        wire.send(b"test 1\r\nPUB wire.test 5\r\nhello\r\nPING\r\n")
        data = wire.read_until(b"PONG\r\n")
    assert data == b"MSG wire.test 1 5\r\nhello\r\nPONG\r\n"


@pytest.mark.parametrize("enabled, offered, negotiated", [
    (True, True, True),
    (True, False, False),
    (False, True, False),
])
def test_compression_needs_config_and_offer(server_kind, ws_factory, enabled, offered, negotiated):
    ws = ws_factory(server_kind, f"no_tls: true\n  compression: {str(enabled).lower()}")
    with WsWire(ws.ws_port, compress=offered) as wire:
        assert [extension.name for extension in wire.accepted.extensions] == (
            ["permessage-deflate"] if negotiated else [])
        if negotiated:
            # Neither side keeps a compression context from one message to the next.
            deflate = wire.accepted.extensions[0]
            assert deflate.server_no_context_takeover and deflate.client_no_context_takeover
        info = info_of(wire)
        assert info["port"] == ws.ws_port


def _request(port: int, method: str = "GET", key: str | None = None, version: str = "13",
             upgrade: str = "websocket", connection: str = "Upgrade") -> bytes:
    key = key if key is not None else base64.b64encode(os.urandom(16)).decode()
    lines = [f"{method} / HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Upgrade: {upgrade}",
             f"Connection: {connection}", f"Sec-WebSocket-Version: {version}"]
    if key:
        lines.append(f"Sec-WebSocket-Key: {key}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.mark.parametrize("case, status", [
    ("post", 405),
    ("no-key", 400),
    ("short-key", 400),
    ("version-12", 400),
    ("no-upgrade", 400),
    ("connection-keep-alive", 400),
])
def test_bad_upgrade_requests_are_refused(ws_server, case, status):
    port = ws_server.ws_port
    request = {
        "post": _request(port, method="POST"),
        "no-key": _request(port, key=""),
        "short-key": _request(port, key=base64.b64encode(b"short").decode()),
        "version-12": _request(port, version="12"),
        "no-upgrade": _request(port, upgrade="h2c"),
        "connection-keep-alive": _request(port, connection="keep-alive"),
    }[case]
    response = raw_upgrade(port, request)
    assert response.status_code == status
    headers = {key.lower(): value for key, value in response.headers}
    assert headers[b"sec-websocket-version"] == b"13"


def test_refused_origin_gets_403_forbidden(server_kind, ws_factory):
    ws = ws_factory(server_kind, 'no_tls: true\n  allowed_origins: ["https://app.example"]')
    with WsWire(ws.ws_port, headers=[("Origin", "https://other.example")]) as wire:
        assert wire.accepted is None
        assert wire.rejected.status_code == 403
        assert wire.reject_body == b"Forbidden\n"


def test_ping_gets_pong(ws_server):
    with WsWire(ws_server.ws_port) as wire:
        info_of(wire)
        wire.send_event(Ping(payload=b"are you there"))
        event = wire.next_event()
    assert isinstance(event, Pong)
    assert event.payload == b"are you there"


def test_client_close_is_answered_and_ends_the_connection(ws_server):
    with WsWire(ws_server.ws_port) as wire:
        info_of(wire)
        wire.send_event(CloseConnection(code=1000, reason="bye"))
        event = wire.next_event()
        assert isinstance(event, CloseConnection)
        assert event.code == 1000
        assert wire.peer_closed()


def test_authorization_violation_then_close_frame(server_kind, ws_factory):
    ws = ws_factory(server_kind, 'no_tls: true\n  authorization { token: "right" }')
    with WsWire(ws.ws_port) as wire:
        info = info_of(wire)
        assert info["auth_required"] is True
        wire.send(b'CONNECT {"verbose":false,"auth_token":"wrong"}\r\nPING\r\n')
        assert wire.read_until(b"\r\n") == b"-ERR 'Authorization Violation'\r\n"
        event = wire.next_event()
        assert isinstance(event, CloseConnection)
        assert event.code == 1008
        assert wire.peer_closed()
