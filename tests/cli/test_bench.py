"""`edgenats bench` end to end with tiny counts: every message accounted for, the report's fields present."""

from __future__ import annotations

import json

from operator_cli import run_cli

MSGS = 2000
IDLE_CONNECTIONS = 40
FLOW_COPIES = {"pub": 1, "pubsub": 1, "fanout4": 4, "fanout16": 16, "queue4": 1, "fanin10": 1, "rr-latency": 1,
               "rr-throughput": 1}
TOKEN_CONFIG = "authorization { token: s3cret }\n"


def test_bench_counts_every_message_of_every_scenario(server, tmp_path):
    report_path = tmp_path / "bench.json"

    result = run_cli(
        "-s", server.url, "bench", "--msgs", str(MSGS), "--size", "16,1k",
        "--connections", str(IDLE_CONNECTIONS),
        "--requesters", "4", "--in-flight", "4", "--responders", "2", "--server-pid", str(server.pid),
        "--json", str(report_path), timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(report_path.read_text())
    runs = {(entry["scenario"], entry["size"]): entry for entry in report["results"]}
    expected_runs = {(name, size) for name in FLOW_COPIES for size in (16, 1024)} | {("memory", 0)}
    assert set(runs) == expected_runs
    for (name, _size), entry in runs.items():
        expected = IDLE_CONNECTIONS if name == "memory" else MSGS * FLOW_COPIES[name]
        assert (entry["expected"], entry["counted"], entry["lost"]) == (expected, expected, 0), entry
        assert entry["complete"] and entry["error"] is None
        assert entry["server_rss_bytes"] > 0
        if name != "memory":
            assert entry["rate_per_s"] > 0 and entry["mb_per_s"] > 0
            assert entry["server_cpu_s_per_million"] is not None
    for size in (16, 1024):
        latency = runs[("rr-latency", size)]
        assert 0 < latency["latency_p50_us"] <= latency["latency_p99_us"]
    assert runs[("memory", 0)]["idle_rss_bytes"] > 0
    table = result.stdout
    for heading in ("msgs/s", "MB/s", "srv s/M", "srv RSS", "p50/p99 us", "kB/connection"):
        assert heading in table
    assert f"{MSGS * 16}/{MSGS * 16}" in table
    assert "LOST" not in table and "ERROR" not in table


def test_runs_longer_than_the_servers_first_ping_still_count_exactly(server, tmp_path):
    # nats-server PINGs each client about two seconds after it connected; subscribers must answer it
    # and still count every message.
    report_path = tmp_path / "bench.json"

    result = run_cli(
        "-s", server.url, "bench", "--scenario", "pubsub,rr-latency", "--size", "16",
        "--duration", "2.5s", "--server-pid", str(server.pid), "--json", str(report_path), timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    for entry in json.loads(report_path.read_text())["results"]:
        assert entry["complete"] and entry["counted"] == entry["expected"] > 0, entry


def test_bench_without_the_servers_token_fails_in_one_line(server_kind, server_factory):
    server = server_factory(server_kind, config=TOKEN_CONFIG)

    refused = run_cli("-s", server.url, "bench", "--scenario", "pub", "--msgs", "10")
    allowed = run_cli("-s", server.url, "--token", "s3cret", "bench", "--scenario", "pub", "--msgs", "10")

    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines()[-1] == (
        f"edgenats: error: 127.0.0.1:{server.port} refused the connection: -ERR 'Authorization Violation'"
    )
    assert allowed.returncode == 0, allowed.stderr
    assert "10/10" in allowed.stdout


def test_compare_runs_both_servers_and_prints_one_table(tmp_path):
    report_path = tmp_path / "compare.json"

    result = run_cli(
        "bench", "--compare", "--msgs", "300", "--size", "16", "--connections", "20", "--requesters", "2",
        "--in-flight", "2", "--responders", "2", "--json", str(report_path), timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(report_path.read_text())
    assert report["mode"] == "compare"
    by_server: dict[str, set[str]] = {}
    for entry in report["results"]:
        assert entry["complete"], entry
        assert entry["server_cpu_s"] is not None and entry["server_rss_bytes"] > 0
        by_server.setdefault(entry["server"], set()).add(entry["scenario"])
    every_scenario = set(FLOW_COPIES) | {"memory"}
    assert by_server == {"nats-server": every_scenario, "edgenats": every_scenario}
    header = result.stdout.splitlines()[1]
    for column in ("nats-server msgs/s", "edgenats msgs/s", "ratio", "nats-server s/M", "edgenats s/M",
                   "CPU ratio", "edgenats p50/p99", "edgenats RSS"):
        assert column in header
