"""`edgenats server ping` and `edgenats server info` as an operator runs them, against both servers,
logged in as a user of the system account."""

from __future__ import annotations

import json
import socket

import pytest
from operator_cli import run_cli

CONFIG = """\
server_name: {name}
accounts {{
  SYS {{ users: [{{user: ops, password: ops-secret}}] }}
  APP {{ users: [{{user: app, password: app-secret}}] }}
}}
system_account: SYS
"""
SYSTEM_USER = ("--user", "ops", "--password", "ops-secret")


@pytest.fixture
def named_server(server_kind, server_factory):
    return server_factory(server_kind, CONFIG.format(name=f"cli-{server_kind}"))


def server_id_of(server) -> str:
    """The id the server announces in INFO, read from its first line on a raw socket."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        line = sock.makefile("rb").readline()
    return json.loads(line.split(b" ", 1)[1])["server_id"]


def test_server_ping_lists_the_server_that_answered(named_server, server_kind):
    result = run_cli("-s", named_server.url, *SYSTEM_USER, "server", "ping", "--expect", "1", "--timeout", "5s")

    assert result.returncode == 0, result.stderr
    header, rule, row, blank, summary = result.stdout.splitlines()
    assert header.split() == ["NAME", "ID", "VERSION", "CONNS", "SUBS", "UPTIME", "RTT"]
    name, server_id, version, conns, subs, uptime, rtt = row.split()
    assert (name, server_id) == (f"cli-{server_kind}", server_id_of(named_server))
    assert int(conns) == 1 and int(subs) >= 0
    assert uptime.endswith("s") and rtt.endswith("ms")
    assert summary == "1 server answered"


def test_server_info_shows_the_server_by_name_by_id_and_by_default(named_server, server_kind):
    server_id = server_id_of(named_server)
    title = f"Server information for cli-{server_kind} ({server_id})"
    for target in ([], [f"cli-{server_kind}"], [server_id]):
        result = run_cli("-s", named_server.url, *SYSTEM_USER, "server", "info", *target)

        assert result.returncode == 0, (target, result.stderr)
        lines = result.stdout.splitlines()
        assert lines[0] == title
        fields = dict(line.strip().split(": ", 1) for line in lines[2:])
        assert fields["System account"].strip() == "SYS"
        assert fields["Clients on"].strip() == f"127.0.0.1:{named_server.port}"
        assert fields["Connections"].strip().startswith("1 open")


def test_server_info_of_an_unknown_name_fails_with_a_message(named_server):
    result = run_cli("-s", named_server.url, *SYSTEM_USER, "server", "info", "elsewhere", "--timeout", "500ms")

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == 'edgenats: error: no server named "elsewhere" answered within 0.5s\n'


def test_server_ping_outside_the_system_account_says_how_to_log_in(named_server):
    result = run_cli("-s", named_server.url, "--user", "app", "--password", "app-secret", "server", "ping")

    assert result.returncode == 1
    assert "no responders on $SYS.REQ.SERVER.PING" in result.stderr
    assert "system account" in result.stderr
