"""Account limits (`accounts { A { limits { ... } } }`) as a client sees them on the wire: a
connection over the account's limit is refused, a subscription over it gets an error, and the
account's smaller max_payload is announced and enforced."""

from __future__ import annotations

import json
import time

from protocol.rawclient import RawClient

CONFIG = """
max_subscriptions: 100
accounts {
  A { users: [{user: a1, password: a}, {user: a2, password: a}, {user: a3, password: a}]
      limits: { max_connections: 2, max_subscriptions: 2, max_payload: 100 } }
  B { users: [{user: b, password: b}] }
}
"""


def login(port: int, user: str) -> RawClient:
    """CONNECT + PING as `user`, without reading the answer."""
    client = RawClient.connect(port)
    client.send_connect(user=user, **{"pass": user[0]}, protocol=1)
    client.send(b"PING\r\n")
    return client


def logged_in(client: RawClient) -> dict:
    """The PONG, then the INFO a protocol-1 client gets once connected (with its account's limits)."""
    client.expect(b"PONG\r\n")
    return json.loads(client.read_until(b"\r\n")[len(b"INFO "):])


def test_connections_over_the_account_limit_are_refused(server_kind, server_factory):
    server = server_factory(server_kind, CONFIG)
    with login(server.port, "a1") as first, login(server.port, "a2") as second:
        logged_in(first)
        logged_in(second)
        with login(server.port, "a3") as third:
            assert third.read_until_eof() == b"-ERR 'maximum account active connections exceeded'\r\n"
        # Other accounts are not limited by A's count.
        with login(server.port, "b") as other:
            assert logged_in(other)["remote_account"] == "B"


def test_a_closed_connection_frees_its_place(server_kind, server_factory):
    server = server_factory(server_kind, CONFIG)
    with login(server.port, "a1") as first:
        logged_in(first)
        with login(server.port, "a2") as second:
            logged_in(second)
        # The server may see the close only after the next CONNECT: try until a place is free.
        deadline = time.monotonic() + 10
        while True:
            with login(server.port, "a3") as third:
                answer = third.read_until(b"\r\n")
                if answer == b"PONG\r\n" or time.monotonic() > deadline:
                    break
        assert answer == b"PONG\r\n"


def test_subscriptions_over_the_account_limit_get_an_error_per_connection(server_kind, server_factory):
    server = server_factory(server_kind, CONFIG)
    with login(server.port, "a1") as first, login(server.port, "a2") as second:
        logged_in(first)
        logged_in(second)
        first.send(b"SUB x 1\r\nSUB y 2\r\nSUB z 3\r\n")
        assert first.fence() == b"-ERR 'maximum subscriptions exceeded'\r\n"
        # The limit applies to each connection of the account, not to their sum.
        second.send(b"SUB x 1\r\nSUB y 2\r\n")
        assert second.fence() == b""


def test_account_max_payload_is_announced_and_enforced(server_kind, server_factory):
    server = server_factory(server_kind, CONFIG)
    with login(server.port, "a1") as client:
        assert logged_in(client)["max_payload"] == 100
        client.send(b"PUB x 100\r\n" + b"p" * 100 + b"\r\n")
        assert client.fence() == b""
        client.send(b"PUB x 101\r\n" + b"p" * 101 + b"\r\n")
        assert client.read_until_eof() == b"-ERR 'Maximum Payload Violation'\r\n"
