"""`edgenats bench` JetStream scenarios end to end with tiny counts: every publish acked and stored, every
message pulled once, every KV read answered, at both durability settings, against both servers."""

from __future__ import annotations

import json

from operator_cli import run_cli

JETSTREAM = {"js-pub", "js-pull", "kv-put", "kv-get"}


def test_compare_runs_the_jetstream_scenarios_at_both_durabilities_on_nats_server_and_edgenats(tmp_path):
    report_path = tmp_path / "compare.json"

    result = run_cli("bench", "--compare", "--scenario", "jetstream", "--msgs", "300", "--size", "16",
                     "--js-window", "7", "--json", str(report_path), timeout=180)

    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(report_path.read_text())
    assert report["settings"]["js_window"] == 7
    runs: dict[tuple[str, str], dict] = {}
    for entry in report["results"]:
        runs[(entry["server"], entry["scenario"], entry["durability"])] = entry
        assert entry["complete"] and entry["error"] is None, entry
        assert entry["counted"] == entry["expected"] == 300, entry
        assert entry["server_cpu_s_per_million"] is not None and entry["ping_max_ms"] > 0
    assert set(runs) == {(server, scenario, durability) for server in ("nats-server", "edgenats")
                         for scenario in JETSTREAM for durability in ("default", "always")}
    header = result.stdout.splitlines()[1]
    for column in ("nats-server msgs/s", "edgenats msgs/s", "ratio", "edgenats s/M", "edgenats PING max ms"):
        assert column in header
    assert "js-pub always" in result.stdout


def test_a_running_server_without_jetstream_fails_the_jetstream_scenarios_in_one_line(server):
    result = run_cli("-s", server.url, "bench", "--scenario", "js-pub", "--msgs", "10", "--stall-timeout", "1s")

    assert result.returncode != 0
    assert "nothing arrived within 1s" in result.stdout
