"""`edgenats server leafs` as an operator runs it on an edge whose link to the hub is cut: one line per
leaf remote with its state and JetStream drain (the backlog the hub's sourcing consumer still has to
take, its lag, the rate, the limit), asked through the edge's system account; once the link is back
and the backlog drained, the same line shows 0. The hub is a real nats-server sourcing the edge. A
server without leaf remotes (either kind) says so."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from drain_helpers import backlog_behind_a_cut, hub_reaches
from leaf_helpers import LinkCutter

WAIT = 15.0
BACKLOG = 50
SYSTEM_USER = ("--user", "ops", "--password", "ops-secret")
# Edge clients without credentials are `app` in APP, the account the link binds and JetStream runs in.
EDGE_ACCOUNTS = """accounts {{
  SYS {{ users: [{{user: ops, password: ops-secret}}] }}
  APP {{ users: [{{user: app, password: app-secret}}], jetstream: enabled }}
}}
system_account: SYS
no_auth_user: app
jetstream {{ store_dir: "{store}", domain: site1 }}
"""


def leafs(url: str) -> list[list[str]]:
    """`edgenats server leafs`: the table's rows, split on two or more spaces."""
    result = subprocess.run([sys.executable, "-m", "edgenats.cli.operator_main", "-s", url, *SYSTEM_USER,
                             "server", "leafs"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    title, blank, header, rule, *rows = result.stdout.splitlines()
    assert title.startswith("Leaf remotes of N") and blank == ""
    assert header.split() == ["HUB", "STATE", "BACKLOG", "BYTES", "LAG", "RATE", "LIMIT"]
    return [[cell.strip() for cell in row.split("  ") if cell.strip()] for row in rows]


@pytest.fixture
async def edge(leaf_pair_factory, tmp_path):
    cutter = LinkCutter()
    port = await cutter.start()
    pair = leaf_pair_factory(
        "edgenats-leaf",
        remote=f'url: "nats-leaf://127.0.0.1:{port}"\n  account: APP\n  drain_rate: 1MB',
        hub_leaf_block="  no_advertise: true",
        hub_extra=f'jetstream {{ store_dir: "{tmp_path / "hub-js"}", domain: hub }}',
        leaf_extra=EDGE_ACCOUNTS.format(store=tmp_path / "edge-js"),
        start=False,
    )
    cutter.target_port = pair.leaf_listen_port
    pair.start_hub()
    pair.start_leaf()
    yield pair, cutter, port
    await cutter.stop()


async def test_server_leafs_shows_the_backlog_behind_a_link_cut_from_a_nats_server_hub(edge):
    pair, cutter, port = edge
    hub_nc, edge_nc = await backlog_behind_a_cut(pair, cutter, BACKLOG, b"y" * 1000, mend=False)
    # The hub's consumer at the edge outlives the cut (its inactive threshold): its backlog is the link's.
    [row] = await asyncio.to_thread(leafs, edge_nc.connected_url.geturl())
    hub, state, backlog, size, lag, rate, limit = row
    assert hub == f"nats-leaf://127.0.0.1:{port}" and state != "connected"
    assert int(backlog) == BACKLOG and size.endswith("KiB") and float(lag.rstrip("s")) >= 0
    assert rate.endswith("/s") and limit == "1.0 MiB/s"

    cutter.mend()
    await hub_reaches(hub_nc, 1 + BACKLOG)
    [row] = await asyncio.to_thread(leafs, edge_nc.connected_url.geturl())
    assert row[1:4] == ["connected", "0", "0 B"]
    for nc in (hub_nc, edge_nc):
        await nc.close()


def test_server_leafs_on_a_server_without_remotes(server_kind, server_factory):
    server = server_factory(server_kind, "accounts { SYS { users: [{user: ops, password: ops-secret}] } }\n"
                                         "system_account: SYS\n")
    result = subprocess.run([sys.executable, "-m", "edgenats.cli.operator_main", "-s", server.url, *SYSTEM_USER,
                             "server", "leafs"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    title, blank, body = result.stdout.splitlines()
    assert title.startswith("Leaf remotes of N") and body == "no leaf remotes"
