"""Fixtures for the WebSocket tests: a server of each kind (edgenats, nats-server) with a `websocket`
block on an OS-picked port of 127.0.0.1, and its ws:// URL.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import trustme
from servers import RunningServer, free_port, wait_for_port


@dataclass
class WebSocketServer:
    server: RunningServer
    ws_port: int

    @property
    def kind(self) -> str:
        return self.server.kind

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"


@pytest.fixture
def ws_factory(server_factory):
    """start(kind, block="no_tls: true", extra="") -> a server whose websocket block holds `block`."""

    def start(kind: str, block: str = "no_tls: true", extra: str = "", extra_args=()) -> WebSocketServer:
        ws_port = free_port()
        config = f'websocket {{\n  listen: "127.0.0.1:{ws_port}"\n  {block}\n}}\n{extra}\n'
        running = server_factory(kind, config, extra_args=list(extra_args))
        wait_for_port(ws_port, running.process, running.log_path)
        return WebSocketServer(running, ws_port)

    return start


@pytest.fixture
def ws_server(server_kind, ws_factory) -> WebSocketServer:
    """A server of each kind with a plain (no_tls) WebSocket port."""
    return ws_factory(server_kind)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A CA (ca.pem) and a server certificate for 127.0.0.1 (server.pem, server-key.pem)."""
    directory = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.cert_chain_pems[0].write_to_path(str(directory / "server.pem"))
    cert.private_key_pem.write_to_path(str(directory / "server-key.pem"))
    return directory
