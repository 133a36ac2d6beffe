"""Framing and parser rules (spec §1, §2, §3, §8): INFO first, PONG first, line endings, verb case,
whitespace tolerance, payload framing across arbitrary splits, and the three failure classes.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from rawclient import RawClient

CONNECT_QUIET = b'CONNECT {"verbose":false}\r\n'
UNKNOWN_OP = b"-ERR 'Unknown Protocol Operation'\r\n"


def test_info_is_the_first_line_and_complete(server):
    with RawClient.open(server.port) as client:
        line = client.read_until(b"\r\n")
    assert line.startswith(b"INFO "), line
    info = json.loads(line[5:])
    assert isinstance(info["server_id"], str) and info["server_id"]
    assert re.search(r"\d+\.\d+\.\d+", info["version"]), info["version"]
    assert info["proto"] == 1
    assert info["headers"] is True
    assert info["max_payload"] == 1048576
    assert isinstance(info["client_id"], int) and info["client_id"] > 0


def test_server_name_defaults_to_server_id(server):
    with RawClient.connect(server.port) as client:
        assert client.info["server_name"] == client.info["server_id"]


def test_client_ids_increase_per_connection(server):
    with RawClient.connect(server.port) as first, RawClient.connect(server.port) as second:
        assert second.info["client_id"] > first.info["client_id"]


def test_connect_and_ping_is_answered_with_pong_first(server):
    # The exact first write of nats.py 2.16 (spec §4); clients read one line and demand PONG.
    with RawClient.connect(server.port) as client:
        client.send(
            b'CONNECT {"echo": true, "headers": true, "lang": "python3", "name": "py-test", '
            b'"no_responders": true, "pedantic": false, "protocol": 1, "verbose": false, '
            b'"version": "2.16.0"}\r\nPING\r\n'
        )
        client.expect(b"PONG\r\n")


def test_connect_and_ping_in_separate_writes_get_pong(server):
    # nats.js writes CONNECT and PING separately (spec §4).
    with RawClient.connect(server.port) as client:
        client.send(
            b'CONNECT {"protocol":1,"version":"2.29.3","lang":"nats.js","verbose":false,"pedantic":false,'
            b'"name":"js-test","headers":true,"no_responders":true}\r\n'
        )
        time.sleep(0.01)
        client.send(b"PING\r\n")
        client.expect(b"PONG\r\n")


def test_bare_lf_line_endings_are_accepted(server):
    with RawClient.connect(server.port) as client:
        client.send(b'CONNECT {"verbose":false}\nSUB foo 1\nPUB foo 2\nhi\r\nPING\n')
        client.expect(b"MSG foo 1 2\r\nhi\r\nPONG\r\n")


def test_verbs_are_case_insensitive(server):
    with RawClient.connect(server.port) as client:
        client.send(b'Connect {"verbose":false}\r\nsUb foo 1\r\npub foo 2\r\nhi\r\npInG\r\n')
        client.expect(b"MSG foo 1 2\r\nhi\r\nPONG\r\n")


def test_tabs_and_runs_of_spaces_separate_arguments(server):
    with RawClient.connect(server.port) as client:
        client.send(b"connect {}\r\nsub\tfoo   1   \r\npub foo\t  5\r\nhello\r\nping\r\n")
        client.expect(b"+OK\r\n+OK\r\n+OK\r\nMSG foo 1 5\r\nhello\r\nPONG\r\n")


def test_nats_py_double_spaces_are_accepted(server):
    # nats.py leaves an empty optional argument between two spaces (spec §1.3, §19).
    with RawClient.connect(server.port) as client:
        client.send(
            b'CONNECT {"verbose":false,"headers":true}\r\nSUB svc.echo  1\r\n'
            b"PUB svc.echo  4\r\nping\r\nHPUB svc.echo  21 26\r\nNATS/1.0\r\nX-Id: 1\r\n\r\nhello\r\n"
        )
        assert client.fence() == (
            b"MSG svc.echo 1 4\r\nping\r\nHMSG svc.echo 1 21 26\r\nNATS/1.0\r\nX-Id: 1\r\n\r\nhello\r\n"
        )


def test_ping_followed_by_other_bytes_is_still_a_ping(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"PINGxyz\r\n")
        client.expect(b"PONG\r\n")


def test_connect_json_may_follow_the_verb_without_space(server):
    with RawClient.connect(server.port) as client:
        client.send(b'CONNECT{"verbose":false}\r\nPING\r\n')
        client.expect(b"PONG\r\n")


def test_payload_may_contain_crlf(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB foo 1\r\nPUB foo 8\r\na\r\nb\r\n\r\n\r\n")
        assert client.fence() == b"MSG foo 1 8\r\na\r\nb\r\n\r\n\r\n"


def test_zero_length_payload_is_delivered(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB foo 1\r\nPUB foo 0\r\n\r\n")
        assert client.fence() == b"MSG foo 1 0\r\n\r\n"


def test_session_sent_byte_by_byte_is_parsed(server):
    session = (
        b'CONNECT {"verbose":false,"headers":true}\r\nSUB foo 1\r\nPUB foo r 5\r\nhello\r\n'
        b"HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n"
    )
    with RawClient.connect(server.port) as client:
        for index in range(len(session)):
            client.send(session[index : index + 1])
            # A pause makes the server see (most of) the bytes as separate reads.
            time.sleep(0.001)
        client.expect(b"MSG foo 1 r 5\r\nhello\r\nHMSG foo 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPONG\r\n")


def test_every_split_of_a_frame_across_two_writes_is_parsed(server):
    frame = b"HPUB foo.bar reply.to 21 26\r\nNATS/1.0\r\nX-Id: 1\r\n\r\nhello\r\n"
    expected = b"HMSG foo.bar 1 reply.to 21 26\r\nNATS/1.0\r\nX-Id: 1\r\n\r\nhello\r\n"
    with RawClient.handshake(server.port, headers=True) as client:
        client.send(b"SUB foo.bar 1\r\n")
        for split in range(1, len(frame)):
            client.send(frame[:split])
            time.sleep(0.002)
            client.send(frame[split:])
            assert client.fence() == expected, f"split at {split}: {frame[:split]!r} | {frame[split:]!r}"


def test_unknown_operation_is_reported_and_closes(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"FOO\r\n")
        assert client.read_until_eof() == UNKNOWN_OP


def test_verb_missing_its_delimiter_is_an_unknown_operation(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"UNSUB\r\n")
        assert client.read_until_eof() == UNKNOWN_OP


@pytest.mark.parametrize(
    "frame", [b"PUB foo 3\r\nabcdef\r\n", b"PUB foo 3\r\nabc\n"], ids=["long-payload", "lf-only"]
)
def test_payload_not_followed_by_crlf_is_an_unknown_operation(server, frame):
    with RawClient.handshake(server.port) as client:
        client.send(frame)
        assert client.read_until_eof() == UNKNOWN_OP


@pytest.mark.parametrize(
    "line",
    [
        b"PUB foo\r\n",
        b"PUB foo bar baz 1\r\n",
        b"PUB foo -1\r\n",
        b"PUB foo 1234567890\r\n",
        b"PUB foo 1x\r\n",
        b"PUB foo +1\r\n",
        b"SUB foo\r\n",
        b"SUB a b c d\r\n",
        b"HPUB foo 14 12\r\n",
        b'CONNECT {"verbose":fal\r\n',
    ],
)
def test_wrong_arguments_close_without_error(server, line):
    with RawClient.handshake(server.port, headers=True) as client:
        client.send(line)
        assert client.read_until_eof() == b""


def test_semantic_error_is_reported_and_connection_stays_open(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB foo..bar 1\r\n")
        assert client.fence() == b"-ERR 'Invalid Subject'\r\n"
        client.send(b"SUB foo 2\r\nPUB foo 1\r\nx\r\n")
        assert client.fence() == b"MSG foo 2 1\r\nx\r\n"


@pytest.mark.parametrize(
    "frame",
    [b"MSG foo 1 1\r\nx\r\n", b"HMSG foo 1 12 12\r\nNATS/1.0\r\n\r\n\r\n", b"LS+ foo\r\n", b"RS+ $G foo\r\n"],
    ids=["MSG", "HMSG", "LS+", "RS+"],
)
def test_server_and_leaf_verbs_from_a_client_are_unknown_operations(server, frame):
    with RawClient.handshake(server.port) as client:
        client.send(frame)
        assert client.read_until_eof() == UNKNOWN_OP


def test_error_sent_by_a_client_closes_its_connection(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"-ERR 'boom'\r\n")
        assert client.read_until_eof() == b""


def test_info_sent_by_a_client_is_ignored(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"INFO {}\r\n")
        assert client.fence() == b""


def test_ok_sent_by_a_client_is_ignored(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"+OK\r\n")
        assert client.fence() == b""


def test_pings_are_answered_in_order(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"PING\r\nPING\r\nPING\r\n")
        client.expect(b"PONG\r\nPONG\r\nPONG\r\n")
