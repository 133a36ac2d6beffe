"""Plain-text tables and the JSON document for benchmark results (one server, or a comparison)."""

from __future__ import annotations

import json
import math
import os
import platform
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from edgenats.bench.results import ScenarioResult
from edgenats.bench.settings import BenchSettings

SATURATING_SCENARIOS = ("pub", "pubsub", "fanout4", "fanout16", "queue4", "fanin10")
BUSY_SERVER_SHARE = 0.8


def format_rate(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}"


def format_number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def format_bytes(value: int | None) -> str:
    return "-" if value is None else f"{value / 1e6:.1f} MB"


def format_size(size: int) -> str:
    return f"{size // 1024} KiB" if size >= 1024 and size % 1024 == 0 else f"{size} B"


def format_latency(result: ScenarioResult | None) -> str:
    if result is None or result.latency_p50_us is None:
        return "-"
    return f"{result.latency_p50_us:.0f}/{format_number(result.latency_p99_us, 0)}"


def format_status(result: ScenarioResult | None) -> str:
    if result is None:
        return "not run"
    if result.complete:
        return "ok"
    if result.error is not None and result.counted == 0:
        return "ERROR"
    return f"LOST {result.lost}" if result.lost > 0 else f"EXTRA {-result.lost}" if result.lost else "ERROR"


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.rjust(width) if index > 1 else cell.ljust(width)
                         for index, (cell, width) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([line(header), line(["-" * width for width in widths]), *map(line, rows)])


def results_table(results: Sequence[ScenarioResult]) -> str:
    """One server: one row per scenario and size."""
    with_ping = any(result.ping_max_ms is not None for result in results)
    header = ["scenario", "size", "msgs/s", "MB/s", "srv s/M", "srv RSS", "p50/p99 us",
              *(["PING max ms"] if with_ping else []), "counted", "srv CPU", "gen CPU", "status"]
    rows = []
    for result in results:
        if result.scenario == "memory":
            continue
        rows.append([
            result.label, format_size(result.size), format_rate(result.rate_per_s),
            format_number(result.mb_per_s, 1), format_number(result.server_cpu_s_per_million, 3),
            format_bytes(result.server_rss_bytes), format_latency(result),
            *([format_number(result.ping_max_ms, 1)] if with_ping else []),
            f"{result.counted}/{result.expected}",
            _percent(result.server_cpu_share), _percent(result.loadgen_cpu_share), format_status(result),
        ])
    sections = [render_table(header, rows)] if rows else []
    memory = [result for result in results if result.scenario == "memory"]
    if memory:
        sections.append(memory_table(memory))
    return "\n\n".join(sections + contention_notes(results) + error_notes(results))


def comparison_table(results: Sequence[ScenarioResult], reference: str, candidate: str) -> str:
    """Two servers side by side; ratios are candidate / reference. The latency columns appear only when
    some run measured latency."""
    by_run = {(result.server, result.label, result.size): result for result in results}
    runs = list(dict.fromkeys(
        (result.label, result.size) for result in results if result.scenario != "memory"
    ))
    with_latency = any(result.latency_p50_us is not None for result in results)
    latency_header = [f"{reference} p50/p99", f"{candidate} p50/p99"] if with_latency else []
    with_ping = any(result.ping_max_ms is not None for result in results)
    ping_header = [f"{reference} PING max ms", f"{candidate} PING max ms"] if with_ping else []
    header = ["scenario", "size", f"{reference} msgs/s", f"{candidate} msgs/s", "ratio",
              f"{reference} s/M", f"{candidate} s/M", "CPU ratio", *latency_header, *ping_header,
              f"{reference} RSS", f"{candidate} RSS", "status"]
    rows = []
    for scenario, size in runs:
        ref = by_run.get((reference, scenario, size))
        cand = by_run.get((candidate, scenario, size))
        ref_rate, cand_rate = _rate(ref), _rate(cand)
        ref_cpu, cand_cpu = _cpu(ref), _cpu(cand)
        cpu_ratio = ratio(cand_cpu, ref_cpu)
        statuses = {format_status(ref), format_status(cand)}
        rows.append([
            scenario, format_size(size), format_rate(ref_rate), format_rate(cand_rate),
            format_number(ratio(cand_rate, ref_rate)), format_number(ref_cpu, 3), format_number(cand_cpu, 3),
            "-" if cpu_ratio is None else f"{cpu_ratio:.1f}x",
            *([format_latency(ref), format_latency(cand)] if with_latency else []),
            *([_ping(ref), _ping(cand)] if with_ping else []),
            format_bytes(ref.server_rss_bytes if ref else None),
            format_bytes(cand.server_rss_bytes if cand else None),
            "ok" if statuses == {"ok"} else " / ".join([format_status(ref), format_status(cand)]),
        ])
    sections = [render_table(header, rows)] if rows else []
    memory = [result for result in results if result.scenario == "memory"]
    if memory:
        sections.append(memory_table(memory))
    return "\n\n".join(sections + contention_notes(results) + error_notes(results))


def contention_notes(results: Sequence[ScenarioResult]) -> list[str]:
    """A warning when servers were far from busy in throughput runs: then something else (other
    processes, or the load generator) set the pace, and only CPU-seconds per message compare fairly."""
    notes = []
    for server in dict.fromkeys(result.server for result in results):
        shares = [result.server_cpu_share for result in results if result.server == server
                  and result.scenario in SATURATING_SCENARIOS and result.server_cpu_share is not None]
        if shares and sum(shares) / len(shares) < BUSY_SERVER_SHARE:
            busy = 100 * sum(shares) / len(shares)
            notes.append(f"note: {server} was busy only {busy:.0f}% of the time in throughput runs; "
                         "msgs/s is not its limit here, compare on s/M")
    return notes


def memory_table(results: Sequence[ScenarioResult]) -> str:
    header = ["memory", "server", "connections", "idle RSS", "RSS", "kB/connection", "status"]
    rows = []
    for result in results:
        per_connection = None
        if result.server_rss_bytes is not None and result.idle_rss_bytes is not None and result.counted:
            per_connection = (result.server_rss_bytes - result.idle_rss_bytes) / result.counted / 1000
        rows.append([
            "memory", result.server, str(result.counted), format_bytes(result.idle_rss_bytes),
            format_bytes(result.server_rss_bytes), format_number(per_connection, 1), format_status(result),
        ])
    return render_table(header, rows)


def error_notes(results: Sequence[ScenarioResult]) -> list[str]:
    notes = [f"{result.server} {result.label} {format_size(result.size)}: {result.error}"
             for result in results if result.error]
    return ["errors:\n" + "\n".join(f"  {note}" for note in notes)] if notes else []


def json_document(results: Sequence[ScenarioResult], settings: BenchSettings, **extra: object) -> dict:
    return {
        "settings": asdict(settings),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        **extra,
        "results": [result.to_json() for result in results],
    }


def write_json(path: Path, document: dict) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n")


def _rate(result: ScenarioResult | None) -> float | None:
    return result.rate_per_s if result is not None else None


def _cpu(result: ScenarioResult | None) -> float | None:
    return result.server_cpu_s_per_million if result is not None else None


def _ping(result: ScenarioResult | None) -> str:
    return format_number(result.ping_max_ms if result is not None else None, 1)


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.0f}%"
