"""Process signals (nats-server conventions): SIGTERM and SIGINT stop the broker cleanly with exit
status 0 after flushing what clients were already sent, and SIGHUP reloads the configuration file.
"""

from __future__ import annotations

import json
import signal
import time

import pytest
from protocol.rawclient import RawClient

MESSAGE_COUNT = 5000


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_exits_zero_and_closes_clients(server, stop_signal):
    with RawClient.handshake(server.port) as client:
        assert server.stop(stop_signal, timeout=15) == 0
        assert client.read_until_eof(timeout=15) == b""


def test_stop_flushes_messages_already_published(server):
    payload = b"m" * 100
    with RawClient.handshake(server.port) as subscriber, RawClient.handshake(server.port) as publisher:
        subscriber.send(b"SUB flush.me 1\r\n")
        assert subscriber.fence() == b""
        publisher.send((b"PUB flush.me 100\r\n" + payload + b"\r\n") * MESSAGE_COUNT)
        # The PONG proves every publish was processed before the signal.
        assert publisher.fence() == b""
        assert server.stop(signal.SIGTERM, timeout=15) == 0
        received = subscriber.read_until_eof(timeout=15)
    assert received == (b"MSG flush.me 1 100\r\n" + payload + b"\r\n") * MESSAGE_COUNT


def _try_token(port: int, token: str) -> bytes:
    """CONNECT with `token` + PING; returns the first reply line."""
    with RawClient.connect(port) as client:
        # One write: a server refusing the token may close before a second write would arrive.
        client.send(b"CONNECT " + json.dumps({"verbose": False, "auth_token": token}).encode() + b"\r\nPING\r\n")
        return client.read_until(b"\r\n")


def test_sighup_reloads_the_authorization_token(server_kind, server_factory):
    running = server_factory(server_kind, 'authorization { token: "old-token" }\n')
    assert _try_token(running.port, "old-token") == b"PONG\r\n"
    running.config_path.write_text('authorization { token: "new-token" }\n')
    running.process.send_signal(signal.SIGHUP)
    # The reload happens asynchronously; poll until the new token is accepted.
    deadline = time.monotonic() + 15
    while (reply := _try_token(running.port, "new-token")) != b"PONG\r\n" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert reply == b"PONG\r\n"
    assert _try_token(running.port, "old-token") == b"-ERR 'Authorization Violation'\r\n"
    assert running.process.poll() is None
