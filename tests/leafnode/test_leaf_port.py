"""The accepting side's leaf port on the wire (spec §15.2, transcripts A2/A3): the INFO it sends, its
answers to bad input, loop detection, and that bad input never disturbs an established link.

Each test runs against edgenats and nats-server as hub; nats-server proves the expected bytes.
"""

from __future__ import annotations

import asyncio
import json
import socket

import nats
import pytest
from leaf_helpers import hub_config, leaf_config, wait_count, wait_for_interest
from servers import free_port

CREDENTIALS = 'authorization { user: lu, password: lp }'
GOOD_CONNECT = b'CONNECT {"name":"probe","user":"lu","pass":"lp"}\r\n'
LOOP_ERROR = b"-ERR 'Loop detected for leafnode account=\"$G\". Delaying attempt to reconnect for 30s'\r\n"


@pytest.fixture(params=["edgenats", "nats-server"])
def hub(request, server_factory):
    leaf_port = free_port()
    running = server_factory(request.param, config=hub_config("hubx", leaf_port, CREDENTIALS, "max_payload: 2048"))
    running.leaf_port = leaf_port
    return running


class LeafSocket:
    """A raw socket on the leaf port: reads the hub's INFO first."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buffer = b""
        self.info = json.loads(self.read_line()[5:])

    def read_line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buffer)
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def read_until_closed(self) -> bytes:
        """Everything until the hub closes (a 5 s socket timeout fails the test instead)."""
        data = self.buffer
        while chunk := self.sock.recv(65536):
            data += chunk
        self.buffer = b""
        return data

    def lines_until(self, last: bytes) -> list[bytes]:
        lines = []
        while (line := self.read_line()) != last:
            lines.append(line)
        return lines

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        self.sock.close()


def without_handshake(data: bytes) -> bytes:
    """Drop the connect INFO, the LS+ burst and keepalive PINGs from what a hub sent."""
    kept = [line for line in data.split(b"\r\n")
            if line and not line.startswith((b"INFO ", b"LS+ ", b"PING"))]
    return b"".join(line + b"\r\n" for line in kept)


def test_info_identifies_a_leaf_port(hub):
    link = LeafSocket(hub.leaf_port)
    info = link.info
    link.close()
    assert info["client_id"] > 0
    assert isinstance(info["leafnode_urls"], list)
    assert info["headers"] is True
    assert info["auth_required"] is True
    assert len(info["nonce"]) > 0
    if hub.kind == "edgenats":
        # A plain-text broker must not offer S2 compression (spec §15.9).
        assert info.get("compression", "off") == "off"


@pytest.mark.parametrize("data, answer", [
    (b"HELLO WORLD\r\n", b"-ERR 'Authorization Violation'\r\n"),
    (b"\x00\x01\x02garbage\r\n", b"-ERR 'Authorization Violation'\r\n"),
    (b"PING\r\n", b"-ERR 'Authorization Violation'\r\n"),
    (b"LS+ foo\r\n", b"-ERR 'Authorization Violation'\r\n"),
    (b'CONNECT {"lang":"python","verbose":false,"user":"lu","pass":"lp"}\r\n',
     b"-ERR 'attempted to connect to leaf node port'\r\n"),
    (b'CONNECT {"name":"x","user":"lu","pass":"wrong"}\r\n', b"-ERR 'Authorization Violation'\r\n"),
    (b'CONNECT {"name":"x"}\r\n', b"-ERR 'Authorization Violation'\r\n"),
    (b'CONNECT {"gateway":"G","user":"lu","pass":"lp"}\r\n',
     b"-ERR 'Rejecting connection from gateway \"G\" on the leafnode port'\r\n"),
    (b'CONNECT {"cluster":"a b","user":"lu","pass":"lp"}\r\n', b"-ERR 'cluster name cannot contain spaces'\r\n"),
    (GOOD_CONNECT + b"SUB foo 1\r\nPING\r\n", b""),
    (GOOD_CONNECT + b"LS+ foo grp\r\nPING\r\n", b""),
    (GOOD_CONNECT + b"LMSG foo x q 1\r\nx\r\n", b""),
    (GOOD_CONNECT + b"FOO\r\nPING\r\n", b"-ERR 'Unknown Protocol Operation'\r\n"),
    (GOOD_CONNECT + b"LMSG foo 4000\r\n", b"-ERR 'Maximum Payload Violation'\r\n"),
], ids=["garbage", "binary", "ping-first", "ls-first", "client-lang", "wrong-password", "no-credentials",
        "gateway", "cluster-space", "client-sub", "queue-without-weight", "bad-queue-marker", "unknown-op",
        "max-payload"])
def test_bad_input_gets_nats_server_answer_and_close(hub, data, answer):
    link = LeafSocket(hub.leaf_port)
    link.send(data)
    assert without_handshake(link.read_until_closed()) == answer
    link.close()


def test_lenient_cases_keep_the_link_open(hub):
    link = LeafSocket(hub.leaf_port)
    link.send(GOOD_CONNECT + b"LS+ foo..bar\r\nLS+ foo grp 0\r\nLS- never.advertised\r\nls+ lower.case\r\n"
              b"lmsg lower.case 1\r\nx\r\nPING\r\n")
    lines = [line for line in link.lines_until(b"PONG") if not line.startswith((b"INFO ", b"LS+ ", b"PING"))]
    link.close()
    assert lines == [b"-ERR 'Invalid Subscription'"]


def test_echoing_the_hub_loop_subject_is_a_loop(hub):
    link = LeafSocket(hub.leaf_port)
    link.send(GOOD_CONNECT + b"PING\r\n")
    burst = link.lines_until(b"PONG")
    loop_subjects = [line[4:] for line in burst if line.startswith(b"LS+ $LDS.")]
    assert len(loop_subjects) == 1
    link.send(b"LS+ " + loop_subjects[0] + b"\r\n")
    assert without_handshake(link.read_until_closed()) == LOOP_ERROR
    link.close()


def test_connect_info_names_the_bound_account(hub):
    link = LeafSocket(hub.leaf_port)
    link.send(GOOD_CONNECT)
    info = json.loads(link.read_line()[5:])
    link.close()
    assert (info["connect_info"], info["remote_account"]) == (True, "$G")


async def test_bad_input_does_not_disturb_an_established_link(hub, server_factory):
    leaf = server_factory("nats-server", config=leaf_config(
        "goodleaf", f'url: "nats-leaf://lu:lp@127.0.0.1:{hub.leaf_port}"'))
    hub_nc = await nats.connect(hub.url)
    leaf_nc = await nats.connect(leaf.url)
    try:
        await wait_for_interest(leaf_nc, hub_nc)
        for data in (b"garbage\r\n", b'CONNECT {"lang":"go"}\r\n', b'CONNECT {"user":"lu","pass":"no"}\r\n',
                     GOOD_CONNECT + b"LMSG foo x q 1\r\nx\r\n"):
            bad = LeafSocket(hub.leaf_port)
            bad.send(data)
            bad.read_until_closed()
            bad.close()
        received = []

        async def collect(msg):
            received.append(msg.data)

        await leaf_nc.subscribe("still.works", cb=collect)
        await hub_nc.subscribe("still.works.up", cb=collect)
        await wait_for_interest(leaf_nc, hub_nc)
        await wait_for_interest(hub_nc, leaf_nc)
        await hub_nc.publish("still.works", b"down")
        await leaf_nc.publish("still.works.up", b"up")
        await wait_count(received, 2)
        assert sorted(received) == [b"down", b"up"]
    finally:
        await hub_nc.close()
        await leaf_nc.close()


# nats-server takes leaf users with permissions from the server's users (no leafnodes.authorization).
PERMISSIONS_BLOCK = """authorization { users = [
  { user: cloud, password: pw },
  { user: pete, password: pw, permissions: { publish: { allow: ["req.>", "_INBOX.>"], deny: ["req.secret"] },
                                            subscribe: { allow: ["foo.*", "_INBOX.>"] } } } ] }"""
PETE_CONNECT = b'CONNECT {"name":"x","user":"pete","pass":"pw"}\r\n'


@pytest.fixture(params=["edgenats", "nats-server"])
def restricted_hub(request, server_factory):
    leaf_port = free_port()
    running = server_factory(request.param, config=hub_config("hubp", leaf_port, extra=PERMISSIONS_BLOCK))
    running.leaf_port = leaf_port
    return running


def test_connect_info_carries_the_users_permissions(restricted_hub):
    link = LeafSocket(restricted_hub.leaf_port)
    link.send(PETE_CONNECT)
    info = json.loads(link.read_line()[5:])
    link.close()
    assert info["import"] == {"allow": ["foo.*", "_INBOX.>"]}
    assert info["export"] == {"allow": ["req.>", "_INBOX.>"], "deny": ["req.secret"]}


@pytest.mark.parametrize("data, answer", [
    (PETE_CONNECT + b"LS+ bar\r\n", b"-ERR 'Permissions Violation for Subscription to \"bar\"'\r\n"),
    (PETE_CONNECT + b"LMSG other 1\r\nx\r\n", b"-ERR 'Permissions Violation for Publish to \"other\"'\r\n"),
    (PETE_CONNECT + b"LMSG req.secret 1\r\nx\r\n", b"-ERR 'Permissions Violation for Publish to \"req.secret\"'\r\n"),
], ids=["subscribe-outside-import", "publish-outside-export", "publish-denied"])
def test_hub_enforces_the_leaf_users_permissions(restricted_hub, data, answer):
    link = LeafSocket(restricted_hub.leaf_port)
    link.send(data)
    assert without_handshake(link.read_until_closed()) == answer
    link.close()


def test_wildcard_interest_outside_import_is_accepted(restricted_hub):
    link = LeafSocket(restricted_hub.leaf_port)
    link.send(PETE_CONNECT + b"LS+ >\r\nLMSG req.ok 1\r\nx\r\nPING\r\n")
    lines = [line for line in link.lines_until(b"PONG") if not line.startswith((b"INFO ", b"LS+ ", b"PING"))]
    link.close()
    assert lines == []


async def test_messages_toward_the_leaf_are_filtered_by_import(restricted_hub):
    link = LeafSocket(restricted_hub.leaf_port)
    link.send(PETE_CONNECT + b"LS+ >\r\nPING\r\n")
    link.lines_until(b"PONG")
    hub_nc = await nats.connect(restricted_hub.url, user="cloud", password="pw")
    # Rounds of bar.secret then foo.x, until foo.x reaches the link (a loaded hub may take a moment to
    # route to a link it just accepted); bar.secret, published first each round, must never arrive.
    lines: list[bytes] = []
    try:
        for _ in range(50):
            await hub_nc.publish("bar.secret", b"")
            await hub_nc.publish("foo.x", b"")
            await hub_nc.flush()
            link.send(b"PING\r\n")
            lines = [line for line in link.lines_until(b"PONG") if line.startswith(b"LMSG")]
            if lines:
                break
            await asyncio.sleep(0.1)
    finally:
        await hub_nc.close()
    link.close()
    assert lines and set(lines) == {b"LMSG foo.x 0"}  # an earlier round's foo.x may arrive late, with this one


def test_a_leaf_redialling_under_the_same_name_replaces_its_old_link(hub):
    connect = b'CONNECT {"name":"twin","cluster":"twin","remote_account":"$G","user":"lu","pass":"lp"}\r\nPING\r\n'
    old = LeafSocket(hub.leaf_port)
    old.send(connect)
    old.lines_until(b"PONG")
    new = LeafSocket(hub.leaf_port)
    new.send(connect)
    new.lines_until(b"PONG")
    assert without_handshake(old.read_until_closed()) == b"-ERR 'Duplicate Remote LeafNode Connection'\r\n"
    new.send(b"PING\r\n")
    assert [line for line in new.lines_until(b"PONG") if line != b"PING"] == []
    old.close()
    new.close()
