"""`edgenats bench` across a leaf link with tiny counts: `--sub-server` counts every message that crossed,
and `--compare-leaf` runs both leaf kinds and prints the ratio."""

from __future__ import annotations

import json

import pytest
from operator_cli import run_cli
from servers import free_port

MSGS = 2000
COPIES = {"pubsub": 1, "fanout4": 4, "fanout16": 16, "queue4": 1, "fanin10": 1}


def leaf_pair(server_factory, leaf_kind: str):
    """A nats-server hub and a `leaf_kind` leaf soliciting it."""
    leaf_listen_port = free_port()
    hub = server_factory("nats-server", config=f'leafnodes {{ listen: "127.0.0.1:{leaf_listen_port}" }}\n')
    remote = f'url: "nats-leaf://127.0.0.1:{leaf_listen_port}"'
    leaf = server_factory(leaf_kind, config=f"leafnodes {{ remotes = [ {{ {remote} }} ] }}\n")
    return hub, leaf


@pytest.mark.parametrize("leaf_kind", ["edgenats", "nats-server"])
def test_sub_server_counts_every_message_that_crossed_the_link(server_factory, leaf_kind, tmp_path):
    hub, leaf = leaf_pair(server_factory, leaf_kind)
    report_path = tmp_path / "bench.json"

    result = run_cli(
        "-s", leaf.url, "bench", "--sub-server", hub.url, "--msgs", str(MSGS), "--size", "16,1k",
        "--server-pid", str(leaf.pid), "--json", str(report_path), timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(report_path.read_text())
    assert report["subscriber_server"] == hub.url
    runs = {(entry["scenario"], entry["size"]): entry for entry in report["results"]}
    assert set(runs) == {(name, size) for name in COPIES for size in (16, 1024)}
    for (name, _size), entry in runs.items():
        expected = MSGS * COPIES[name]
        assert (entry["expected"], entry["counted"], entry["lost"]) == (expected, expected, 0), entry
        assert entry["complete"] and entry["server_cpu_s_per_million"] is not None
    assert f"{leaf.url} -> {hub.url}" in result.stdout


def test_sub_server_refuses_scenarios_without_subscribers(server):
    result = run_cli("-s", server.url, "bench", "--sub-server", server.url, "--scenario", "pub,rr-latency")

    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].endswith("not pub, rr-latency")


def test_compare_leaf_runs_both_leaf_kinds_and_prints_the_ratio(tmp_path):
    report_path = tmp_path / "compare-leaf.json"

    result = run_cli("bench", "--compare-leaf", "--msgs", "500", "--json", str(report_path), timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(report_path.read_text())
    assert report["mode"] == "compare-leaf"
    by_leaf: dict[str, set[tuple[str, int]]] = {}
    for entry in report["results"]:
        assert entry["complete"] and entry["server_cpu_s"] is not None, entry
        by_leaf.setdefault(entry["server"], set()).add((entry["scenario"], entry["size"]))
    default_runs = {(name, size) for name in ("pubsub", "fanout4") for size in (16, 1024)}
    assert by_leaf == {"nats-server leaf": default_runs, "edgenats leaf": default_runs}
    header, _rule, *rows = result.stdout.splitlines()[1:7]
    for column in ("nats-server leaf msgs/s", "edgenats leaf msgs/s", "ratio", "nats-server leaf s/M",
                   "edgenats leaf s/M", "status"):
        assert column in header
    assert [row.split()[-1] for row in rows] == ["ok"] * 4
