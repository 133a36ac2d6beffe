"""Configured and default limits (spec §1.8, §2, §5, §6, §12.1): max_payload, max_control_line,
max_connections, max_subscriptions, keepalive with ping_max, and the authentication timeout.

Only generous overall timeouts are used; no test asserts how fast the server reacts.
"""

from __future__ import annotations

import time

import pytest
from rawclient import RawClient

SMALL_LIMITS_CONFIG = "max_payload: 1024\nmax_subscriptions: 2\n"
MAX_CONNECTIONS_CONFIG = "max_connections: 3\n"
KEEPALIVE_CONFIG = 'ping_interval: "1s"\nping_max: 1\n'
TOKEN_CONFIG = 'authorization { token: "t0k3n" }\n'


@pytest.fixture
def limited_server(server_kind, shared_servers):
    return shared_servers(server_kind, SMALL_LIMITS_CONFIG)


@pytest.fixture
def keepalive_server(server_kind, shared_servers):
    return shared_servers(server_kind, KEEPALIVE_CONFIG)


def test_info_advertises_configured_max_payload(limited_server):
    with RawClient.connect(limited_server.port) as client:
        assert client.info["max_payload"] == 1024


def test_payload_over_max_is_refused_from_the_control_line(limited_server):
    with RawClient.handshake(limited_server.port) as client:
        # No payload is sent: the server must decide from the declared size alone.
        client.send(b"PUB foo 1025\r\n")
        assert client.read_until_eof() == b"-ERR 'Maximum Payload Violation'\r\n"


def test_header_and_payload_together_count_against_max_payload(limited_server):
    with RawClient.handshake(limited_server.port, headers=True) as client:
        client.send(b"HPUB foo 12 1025\r\n")
        assert client.read_until_eof() == b"-ERR 'Maximum Payload Violation'\r\n"


def test_payload_of_exactly_max_is_delivered(limited_server):
    payload = b"p" * 1024
    with RawClient.handshake(limited_server.port) as client:
        client.send(b"SUB foo 1\r\nPUB foo 1024\r\n" + payload + b"\r\n")
        assert client.fence() == b"MSG foo 1 1024\r\n" + payload + b"\r\n"


def test_default_max_payload_is_refused_above_one_mebibyte(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"PUB foo 2000000\r\n")
        assert client.read_until_eof() == b"-ERR 'Maximum Payload Violation'\r\n"


def test_subscription_over_max_subscriptions_is_refused_and_connection_stays_open(limited_server):
    with RawClient.handshake(limited_server.port) as client:
        client.send(b"SUB a 1\r\nSUB b 2\r\nSUB c 3\r\n")
        assert client.fence() == b"-ERR 'maximum subscriptions exceeded'\r\n"
        client.send(b"PUB a 1\r\nx\r\nPUB c 1\r\ny\r\n")
        assert client.fence() == b"MSG a 1 1\r\nx\r\n"


def test_unsubscribing_frees_a_subscription_slot(limited_server):
    with RawClient.handshake(limited_server.port) as client:
        client.send(b"SUB a 1\r\nSUB b 2\r\nUNSUB 1\r\nSUB c 3\r\nPUB c 1\r\nx\r\n")
        assert client.fence() == b"MSG c 3 1\r\nx\r\n"


def test_control_line_over_default_max_is_refused(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"PUB " + b"s" * 4100 + b" 1\r\n")
        assert client.read_until_eof() == b"-ERR 'maximum control line exceeded'\r\n"


def test_unterminated_control_line_over_max_is_refused(server):
    with RawClient.handshake(server.port) as client:
        # No line end ever comes: the server must not buffer it without bound.
        client.send(b"PUB " + b"s" * 8000)
        assert client.read_until_eof() == b"-ERR 'maximum control line exceeded'\r\n"


def test_control_line_just_under_max_is_accepted(server):
    subject = b"s" * 4000
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB " + subject + b" 1\r\nPUB " + subject + b" 1\r\nx\r\n")
        assert client.fence() == b"MSG " + subject + b" 1 1\r\nx\r\n"


def test_connection_over_max_connections_gets_info_then_error(server_kind, server_factory):
    running = server_factory(server_kind, MAX_CONNECTIONS_CONFIG)
    admitted = [RawClient.handshake(running.port) for _ in range(3)]
    try:
        with RawClient.open(running.port) as refused:
            assert refused.read_until(b"\r\n").startswith(b"INFO ")
            assert refused.read_until_eof() == b"-ERR 'maximum connections exceeded'\r\n"
        for client in admitted:
            client.send(b"PING\r\n")
            client.expect(b"PONG\r\n")
    finally:
        for client in admitted:
            client.close()


def test_closing_a_connection_frees_a_connection_slot(server_kind, server_factory):
    running = server_factory(server_kind, MAX_CONNECTIONS_CONFIG)
    admitted = [RawClient.handshake(running.port) for _ in range(3)]
    try:
        admitted.pop().close()
        deadline = time.monotonic() + 10
        # The server notices the close asynchronously; retry until the slot is free.
        while True:
            with RawClient.connect(running.port) as client:
                client.send(b'CONNECT {"verbose":false}\r\nPING\r\n')
                reply = client.read_until(b"\r\n")
            if reply == b"PONG\r\n" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert reply == b"PONG\r\n"
    finally:
        for client in admitted:
            client.close()


def test_silent_client_gets_pings_then_stale_connection(keepalive_server):
    with RawClient.handshake(keepalive_server.port) as client:
        received = client.read_until_eof(timeout=30)
    assert received.startswith(b"PING\r\n"), received
    assert received.endswith(b"-ERR 'Stale Connection'\r\n"), received
    assert set(received.split(b"\r\n")[:-2]) == {b"PING"}, received


def test_client_answering_pings_is_not_stale(keepalive_server):
    with RawClient.handshake(keepalive_server.port) as client:
        # Outlive several ping intervals, answering every server PING.
        for _ in range(3):
            client.expect(b"PING\r\n", timeout=30)
            client.send(b"PONG\r\n")
        assert client.fence() == b""


def test_silent_client_on_auth_server_gets_authentication_timeout(server_kind, shared_servers):
    running = shared_servers(server_kind, TOKEN_CONFIG)
    with RawClient.connect(running.port) as client:
        assert client.read_until_eof(timeout=30) == b"-ERR 'Authentication Timeout'\r\n"
