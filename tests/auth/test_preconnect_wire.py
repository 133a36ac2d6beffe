"""Connections that have not sent CONNECT, against both brokers: they are pinged from the start and
closed as stale when they do not answer, with or without authorization, so silent or half-open sockets
cannot hold connection slots; the auth timeout still comes first when it is the shorter."""

import time

import pytest
from auth_wire import WireClient

SHORT_PINGS = 'ping_interval: "200ms"\nping_max: 2\n'
STALE = b"PING\r\nPING\r\n-ERR 'Stale Connection'\r\n"


@pytest.mark.parametrize(
    "auth", ["", 'authorization { token: "t0k3n", timeout: 5 }'], ids=["no-auth", "token-auth"]
)
@pytest.mark.parametrize("sent", [b"", b'CONNECT {"verb'], ids=["silent", "half-connect"])
def test_a_socket_that_never_completes_connect_is_pinged_then_closed_as_stale(
    server_kind, server_factory, auth, sent
):
    server = server_factory(server_kind, SHORT_PINGS + auth)
    with WireClient(server.port) as client:
        started = time.monotonic()
        client.send(sent)
        assert client.read_to_close(timeout=3) == STALE
        # Three ping intervals: the two PINGs, then the close.
        assert 0.5 < time.monotonic() - started < 1.5


def test_answering_pings_before_connect_keeps_the_connection(server_kind, server_factory):
    server = server_factory(server_kind, SHORT_PINGS)
    with WireClient(server.port) as client:
        for _ in range(2):
            assert client.read_line() == b"PING"
            client.send(b"PONG\r\n")
        client.connect()
        assert client.read_until(b"PONG\r\n").endswith(b"PONG\r\n")


def test_the_auth_timeout_closes_before_the_first_ping_when_shorter(server_kind, server_factory):
    server = server_factory(server_kind, 'ping_interval: "1s"\nauthorization { token: "t0k3n", timeout: 0.3 }')
    with WireClient(server.port) as client:
        assert client.read_to_close(timeout=3) == b"-ERR 'Authentication Timeout'\r\n"
