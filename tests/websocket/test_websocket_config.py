"""`websocket` blocks both servers refuse at start-up, and the one edgenats refuses by name."""

from __future__ import annotations

import pytest
from servers import free_port


@pytest.mark.parametrize("block, message", [
    ("", "websocket requires TLS configuration"),
    ('no_tls: true\n  allowed_origins: ["ftp://files.example"]', "allowed origin"),
])
def test_refused_blocks(server_kind, server_factory, block, message):
    config = f"websocket {{\n  port: {free_port()}\n  {block}\n}}\n"
    with pytest.raises(RuntimeError) as refused:
        server_factory(server_kind, config)
    assert message in str(refused.value)


def test_unsupported_setting_named(server_factory):
    config = f'websocket {{\n  port: {free_port()}\n  no_tls: true\n  jwt_cookie: "my_jwt"\n}}\n'
    with pytest.raises(RuntimeError) as refused:
        server_factory("edgenats", config)
    assert "websocket.jwt_cookie: JWT authentication is not supported by edgenats" in str(refused.value)
