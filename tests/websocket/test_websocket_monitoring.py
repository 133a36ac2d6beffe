"""/varz over a server with a WebSocket port: the `websocket` block as nats-server reports it, and a
WebSocket subscriber that stops reading is cut off as a slow consumer like a TCP one.
"""

from __future__ import annotations

import json
import urllib.request

import nats
import pytest
from servers import free_port
from ws_wire import WsWire


def varz(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/varz", timeout=5) as response:
        return json.load(response)


@pytest.mark.parametrize("block, expected", [
    ("no_tls: true", {"no_tls": True}),
    ('no_tls: true\n  compression: true\n  same_origin: true\n  allowed_origins: ["http://a.example"]',
     {"no_tls": True, "compression": True, "same_origin": True, "allowed_origins": ["http://a.example"]}),
    ('no_tls: true\n  handshake_timeout: "3s"\n  authorization { token: "t", timeout: 4 }',
     {"no_tls": True, "handshake_timeout": 3_000_000_000, "auth_timeout": 4}),
])
def test_varz_websocket_block(server_kind, ws_factory, block, expected):
    http_port = free_port()
    ws = ws_factory(server_kind, block, extra_args=["-m", str(http_port)])
    assert varz(http_port)["websocket"] == {"host": "127.0.0.1", "port": ws.ws_port, **expected}


async def test_slow_websocket_subscriber_is_cut_off(server_kind, ws_factory):
    http_port = free_port()
    ws = ws_factory(server_kind, extra="max_pending: 256KB\nmax_payload: 64KB", extra_args=["-m", str(http_port)])
    with WsWire(ws.ws_port, receive_buffer=4096) as wire:
        wire.read_until(b"\r\n")
        wire.send(b'CONNECT {"verbose":false}\r\nSUB flood 1\r\nPING\r\n')
        wire.read_until(b"PONG\r\n")
        # From here on the subscriber reads nothing.
        publisher = await nats.connect(ws.server.url)
        try:
            chunk = b"x" * 32768
            for _ in range(2000):
                await publisher.publish("flood", chunk)
                await publisher.flush()
                if varz(http_port)["slow_consumers"]:
                    break
            assert varz(http_port)["slow_consumers"] == 1
        finally:
            await publisher.close()
        wire.drain_to_close()
