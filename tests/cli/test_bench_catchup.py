"""`edgenats bench --compare-catchup` with a small backlog: a leaf (nats-server, then edgenats) stores
2,000 messages before its nats-server hub starts, the hub stream sources them all, and the report gives
both leaves side by side with every message counted at the hub."""

from __future__ import annotations

import json

from operator_cli import run_cli

MSGS = 2000


def test_compare_catchup_sources_every_message_from_a_nats_server_and_an_edgenats_leaf(tmp_path):
    report_path = tmp_path / "catchup.json"

    result = run_cli("bench", "--compare-catchup", "--msgs", str(MSGS), "--size", "64", "--json", str(report_path),
                     timeout=180)

    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(report_path.read_text())
    assert report["mode"] == "compare-catchup"
    runs = {entry["server"]: entry for entry in report["results"]}
    assert set(runs) == {"nats-server leaf", "edgenats leaf"}
    for entry in runs.values():
        assert (entry["scenario"], entry["size"]) == ("catchup", 64)
        assert (entry["expected"], entry["counted"], entry["lost"]) == (MSGS, MSGS, 0), entry
        assert entry["complete"] and entry["rate_per_s"] > 0
        assert entry["server_cpu_s"] is not None and entry["hub_cpu_s"] is not None
    header, rule, row = result.stdout.splitlines()[-3:]
    assert header.split()[:4] == ["scenario", "size", "msgs", "nats-server"]
    assert "edgenats leaf msgs/s" in header and "hub s/M (edgenats leaf)" in header
    assert row.split()[:4] == ["catchup", "64", "B", str(MSGS)] and row.split()[-1] == "ok"
