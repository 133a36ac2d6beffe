"""Fuzzing the client port (spec §1.9, §9): random bytes and mutated valid protocol streams.

After every example the server must still be running, a fresh well-behaved client must still be
able to CONNECT/SUB/PUB and receive, no connection may be left open in the server, and the fuzzed
connection must have received only well-formed server operations with -ERR texts from the
nats-server catalogue, a closing error being the last thing sent.
"""

from __future__ import annotations

import socket
import time

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rawclient import CLOSING_ERRORS, OPEN_ERRORS, RawClient, parse_operations

VALID_OPERATIONS = [
    b'CONNECT {"verbose":false,"pedantic":true,"headers":true}\r\n',
    b'CONNECT {"verbose":true,"protocol":1,"headers":true,"no_responders":true}\r\n',
    b"CONNECT {}\r\n",
    b"PING\r\n",
    b"PONG\r\n",
    b"SUB foo 1\r\n",
    b"SUB foo.* q 2\r\n",
    b"SUB > 3\r\n",
    b"UNSUB 1\r\n",
    b"UNSUB 3 2\r\n",
    b"PUB foo 5\r\nhello\r\n",
    b"PUB foo.bar reply.x 0\r\n\r\n",
    b"HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
    b"HPUB foo.bar r 21 26\r\nNATS/1.0\r\nX-Id: 1\r\n\r\nhello\r\n",
    b"INFO {}\r\n",
    b"+OK\r\n",
]

valid_stream = st.lists(st.sampled_from(VALID_OPERATIONS), min_size=1, max_size=12).map(b"".join)


@st.composite
def mutated_stream(draw) -> bytes:
    """A valid stream with a few bytes replaced, inserted, deleted or a slice duplicated."""
    data = bytearray(draw(valid_stream))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        kind = draw(st.sampled_from(["replace", "insert", "delete", "duplicate", "upper"]))
        if kind == "replace" and data:
            data[position] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and data:
            del data[position]
        elif kind == "duplicate":
            data[position:position] = data[position : position + draw(st.integers(1, 40))]
        elif kind == "upper":
            data[position : position + 8] = data[position : position + 8].swapcase()
    return bytes(data)


fuzz_input = st.one_of(st.binary(min_size=1, max_size=300), mutated_stream())
chunk_sizes = st.lists(st.integers(1, 64), min_size=1, max_size=8)


@pytest.fixture
def fuzz_server(server_kind, shared_servers):
    return shared_servers(server_kind)


def _open_connections(pid: int) -> int:
    return sum(1 for conn in psutil.Process(pid).net_connections(kind="tcp") if conn.status != "LISTEN")


def _wait_for_connection_count(pid: int, expected: int) -> int:
    """Wait until at most `expected` connections are open; the server closes sockets asynchronously."""
    deadline = time.monotonic() + 10
    while (count := _open_connections(pid)) > expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return count


def _assert_well_formed_reply(data: bytes) -> None:
    ops, _ = parse_operations(data, partial_ok=True)
    for index, op in enumerate(ops):
        if isinstance(op, tuple) and op[0] == "-ERR":
            text = op[1]
            assert text in CLOSING_ERRORS | OPEN_ERRORS, f"unknown error text {text!r} in {data!r}"
            if text in CLOSING_ERRORS:
                assert index == len(ops) - 1, f"bytes after closing error {text!r}: {data!r}"


def _assert_still_serving(port: int) -> None:
    with RawClient.handshake(port) as client:
        client.send(b"SUB fuzz.check 1\r\nPUB fuzz.check 2\r\nok\r\n")
        assert client.fence() == b"MSG fuzz.check 1 2\r\nok\r\n"


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=fuzz_input, chunks=chunk_sizes)
def test_server_survives_random_and_mutated_input(fuzz_server, data, chunks):
    with RawClient.connect(fuzz_server.port) as client:
        position = 0
        try:
            for size in chunks * (len(data) // sum(chunks) + 1):
                if position >= len(data):
                    break
                client.send(data[position : position + size])
                position += size
            # Half-close: the server sees EOF, so every fuzzed connection ends and its output is final.
            client.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # The server closed on an early error; what it sent is still readable.
        reply = client.read_until_eof(timeout=10)
    _assert_well_formed_reply(reply)
    assert fuzz_server.process.poll() is None, "server process died"
    _assert_still_serving(fuzz_server.port)
    # This module's server has no other clients, so every connection must be gone.
    assert _wait_for_connection_count(fuzz_server.pid, 0) == 0
