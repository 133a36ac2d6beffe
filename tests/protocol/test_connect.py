"""CONNECT handling (spec §2, §3, §4): defaults, verbose ordering, re-CONNECT, refused options,
operations before CONNECT, authorization-required servers and the async INFO after the first PONG.
"""

from __future__ import annotations

import json

import nats
import pytest
from rawclient import RawClient

TOKEN_CONFIG = 'authorization { token: "t0k3n" }\n'


@pytest.fixture
def token_server(server_kind, shared_servers):
    return shared_servers(server_kind, TOKEN_CONFIG)


def test_empty_connect_defaults_to_verbose(server):
    with RawClient.connect(server.port) as client:
        client.send(b"CONNECT {}\r\n")
        assert client.fence() == b"+OK\r\n"


def test_empty_connect_defaults_to_pedantic(server):
    with RawClient.connect(server.port) as client:
        client.send(b"CONNECT {}\r\nPUB foo.* 1\r\nx\r\n")
        assert client.fence() == b"+OK\r\n-ERR 'Invalid Publish Subject'\r\n+OK\r\n"


def test_empty_connect_defaults_to_echo(server):
    with RawClient.connect(server.port) as client:
        client.send(b"CONNECT {}\r\nSUB foo 1\r\nPUB foo 1\r\nx\r\n")
        assert client.fence() == b"+OK\r\n+OK\r\n+OK\r\nMSG foo 1 1\r\nx\r\n"


def test_verbose_ok_for_each_operation_precedes_the_message(server):
    with RawClient.connect(server.port) as client:
        client.send(b'CONNECT {"verbose":true}\r\nSUB foo 1\r\nPUB foo 5\r\nhello\r\nUNSUB 1\r\nPING\r\n')
        client.expect(b"+OK\r\n+OK\r\n+OK\r\nMSG foo 1 5\r\nhello\r\n+OK\r\nPONG\r\n")


def test_explicit_non_verbose_connect_sends_no_ok(server):
    with RawClient.connect(server.port) as client:
        client.send(b'CONNECT {"verbose":false}\r\nSUB foo 1\r\nUNSUB 1\r\n')
        assert client.fence() == b""


def test_second_connect_drops_subscriptions(server):
    with RawClient.connect(server.port) as client:
        client.send(b'CONNECT {"verbose":false}\r\nSUB foo 1\r\n')
        client.send(b'CONNECT {"verbose":true}\r\nPUB foo 1\r\nx\r\n')
        assert client.fence() == b"+OK\r\n+OK\r\n"


def test_protocol_above_one_is_refused(server):
    with RawClient.connect(server.port) as client:
        client.send(b'CONNECT {"verbose":false,"protocol":2}\r\n')
        assert client.read_until_eof() == b"-ERR 'invalid client protocol'\r\n"


def test_no_responders_without_headers_is_refused(server):
    with RawClient.connect(server.port) as client:
        client.send(b'CONNECT {"verbose":false,"no_responders":true}\r\n')
        assert client.read_until_eof() == b"-ERR 'no responders requires headers support'\r\n"


def test_account_field_is_an_authorization_violation(server):
    with RawClient.connect(server.port) as client:
        client.send(b'CONNECT {"verbose":false,"account":"A"}\r\n')
        assert client.read_until_eof() == b"-ERR 'Authorization Violation'\r\n"


def test_unknown_connect_fields_are_ignored(server):
    with RawClient.connect(server.port) as client:
        client.send(b'CONNECT {"verbose":false,"no_such_option":[1,{"x":2}]}\r\nPING\r\n')
        client.expect(b"PONG\r\n")


def test_operations_before_connect_use_default_options(server):
    with RawClient.connect(server.port) as client:
        client.send(b"SUB foo 1\r\nPUB foo 1\r\nx\r\nPING\r\n")
        client.expect(b"+OK\r\n+OK\r\nMSG foo 1 1\r\nx\r\nPONG\r\n")


def test_async_info_after_first_pong_is_complete_for_protocol_1(server):
    with RawClient.connect(server.port) as client:
        client.send(b'CONNECT {"verbose":false,"protocol":1,"headers":true}\r\nPING\r\n')
        client.expect(b"PONG\r\n")
        line = client.read_until(b"\r\n")
        assert line.startswith(b"INFO "), line
        info = json.loads(line[5:])
        assert info["connect_info"] is True
        # Clients replace their stored INFO with this one, so it must carry everything (spec §3).
        assert info["max_payload"] == client.info["max_payload"]
        assert info["headers"] is True
        assert info["server_id"] == client.info["server_id"]
        assert info["client_id"] == client.info["client_id"]
        assert info["proto"] == 1
        assert info["version"] == client.info["version"]


def test_no_async_info_for_protocol_0(server):
    with RawClient.connect(server.port) as client:
        client.send(b'CONNECT {"verbose":false}\r\nPING\r\nPING\r\n')
        client.expect(b"PONG\r\nPONG\r\n")


def test_async_info_is_sent_only_after_the_first_ping(server):
    with RawClient.connect(server.port) as client:
        client.send(b'CONNECT {"verbose":false,"protocol":1}\r\nPING\r\n')
        client.expect(b"PONG\r\n")
        client.read_until(b"\r\n")
        client.send(b"PING\r\n")
        client.expect(b"PONG\r\n")


def test_info_announces_auth_required_when_configured(token_server):
    with RawClient.connect(token_server.port) as client:
        assert client.info["auth_required"] is True


def test_info_omits_auth_required_without_auth(server):
    with RawClient.connect(server.port) as client:
        assert not client.info.get("auth_required", False)


def test_operation_before_connect_with_auth_is_an_authorization_violation(token_server):
    with RawClient.connect(token_server.port) as client:
        client.send(b"PING\r\n")
        assert client.read_until_eof() == b"-ERR 'Authorization Violation'\r\n"


def test_correct_token_is_accepted(token_server):
    with RawClient.connect(token_server.port) as client:
        client.send(b'CONNECT {"verbose":false,"auth_token":"t0k3n"}\r\nPING\r\n')
        client.expect(b"PONG\r\n")


def test_wrong_token_is_an_authorization_violation(token_server):
    with RawClient.connect(token_server.port) as client:
        client.send(b'CONNECT {"verbose":false,"auth_token":"nope"}\r\nPING\r\n')
        assert client.read_until_eof() == b"-ERR 'Authorization Violation'\r\n"


def test_missing_token_is_an_authorization_violation(token_server):
    with RawClient.connect(token_server.port) as client:
        client.send(b'CONNECT {"verbose":false}\r\nPING\r\n')
        assert client.read_until_eof() == b"-ERR 'Authorization Violation'\r\n"


async def test_nats_py_connects_with_token(token_server):
    connection = await nats.connect(token_server.url, token="t0k3n", allow_reconnect=False)
    try:
        await connection.flush(timeout=5)
        assert connection.is_connected
    finally:
        await connection.close()
