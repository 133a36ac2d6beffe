"""Bad input from the network gives a clear error and a reconnect, never a crash or a wedged client.

The server here is a tiny socket server in the test: its first connection sends one broken frame, its
second behaves and delivers a message."""

from __future__ import annotations

import asyncio

import pytest

INFO = b'INFO {"server_id":"FAKE","version":"2.10.0","proto":1,"headers":true,"max_payload":1048576} \r\n'

BAD_FRAMES = {
    "garbage": (b"XYZZY 42\r\n", True, "ProtocolError unexpected data from server"),
    "bad-size": (b"MSG dev.in 1 abc\r\nxyz\r\n", False, "ProtocolError bad message line"),
    "payload-longer-than-declared": (b"MSG dev.in 1 3\r\nabcdef\r\n", False, "not followed by CRLF"),
    "oversized-for-buffer": (b"MSG dev.in 1 100000\r\n" + b"x" * 3000, False, "does not fit the 768-byte"),
    "truncated-then-closed": (b"MSG dev.in 1 10\r\nabc", True, "connection closed by server"),
    "endless-control-line": (b"MSG " + b"x" * 5000, False, "longer than the 768-byte receive buffer"),
    "bad-header-block": (b"HMSG dev.in 1 6 6\r\nGARBAG\r\n", False, "ProtocolError bad header block"),
    "invalid-utf8-header": (b"HMSG dev.in 1 14 14\r\nNATS/1.0\xff\xfe\r\n\r\n\r\n", False, "undecodable"),
    "bad-info-json": (b"INFO {nope\r\n", False, "INFO is not valid JSON"),
}


@pytest.fixture
async def fake_server():
    """fake_server(bad_frame, close) -> (url, connection counter)."""
    servers = []

    async def start(bad: bytes, close: bool):
        connections = []

        async def handle(reader, writer):
            connections.append(writer)
            writer.write(INFO)
            line = b""
            while not line.startswith(b"SUB "):  # handshake done and subscription made
                line = await reader.readline()
                if not line:
                    return
                if line.startswith(b"PING"):
                    writer.write(b"PONG\r\n")
            if len(connections) == 1:
                writer.write(bad)
                await writer.drain()
                if close:
                    writer.close()
                    return
            else:
                writer.write(b"MSG dev.in 1 5\r\nhello\r\n")
            while await reader.read(4096):
                pass

        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(srv)
        return f"nats://127.0.0.1:{srv.sockets[0].getsockname()[1]}", connections

    yield start
    for srv in servers:
        srv.close()


@pytest.mark.parametrize("case", BAD_FRAMES)
async def test_bad_frame_gives_clear_error_then_reconnect(case, fake_server, start_device):
    bad, close, error_text = BAD_FRAMES[case]
    url, connections = await fake_server(bad, close)
    device = await start_device("badinput.py", url)
    output = await device.finish()
    errors = [line for line in output.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and error_text in errors[0], output
    assert "GOT hello 1" in output
    assert len(connections) == 2
