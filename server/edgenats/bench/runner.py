"""Runs the chosen scenarios against one server, or against nats-server and edgenats side by side."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from edgenats.bench.errors import BenchError
from edgenats.bench.idle_connections import raise_open_files_limit
from edgenats.bench.probes import ProcessProbe
from edgenats.bench.results import ScenarioResult
from edgenats.bench.scenarios import BenchTarget, Scenario, run_scenario, scenario_runs
from edgenats.bench.server_process import LOOPBACK, LaunchedServer, launch_server
from edgenats.bench.settings import BenchSettings
from edgenats.bench.wire import Endpoint, open_connection

REFERENCE_KIND = "nats-server"
CANDIDATE_KIND = "edgenats"
SERVER_CPU = 0
LOADGEN_CPU = 1

Progress = Callable[[str], None]


def print_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_against(
    target: BenchTarget, names: list[str], sizes: list[int], settings: BenchSettings,
    progress: Progress = print_progress,
) -> list[ScenarioResult]:
    """Every chosen scenario and size against one running server (checked reachable first)."""
    open_connection(target.endpoint, "bench-preflight").close()
    if "memory" in names:
        raise_open_files_limit(settings.connections)
    loadgen = ProcessProbe(os.getpid())
    return [_run_one(scenario, size, settings, target, loadgen, progress)
            for scenario, size in scenario_runs(names, sizes)]


@dataclass
class Comparison:
    results: list[ScenarioResult]
    pinned: bool
    reference: str = REFERENCE_KIND
    candidate: str = CANDIDATE_KIND


def run_comparison(
    names: list[str], sizes: list[int], settings: BenchSettings, pin: bool = True,
    progress: Progress = print_progress,
) -> Comparison:
    """Start both servers (pinned to CPU 0 when there are two CPUs or more), run each scenario against
    each in turn with the load generator on CPU 1, and stop both by pid."""
    pinned = pin and {SERVER_CPU, LOADGEN_CPU} <= os.sched_getaffinity(0)
    if "memory" in names:
        # Raised before the servers start so that they inherit the higher limit too.
        raise_open_files_limit(settings.connections)
    original_affinity = os.sched_getaffinity(0)
    servers: list[LaunchedServer] = []
    results: list[ScenarioResult] = []
    with tempfile.TemporaryDirectory(prefix="edgenats-bench-") as workdir:
        try:
            for kind in (REFERENCE_KIND, CANDIDATE_KIND):
                progress(f"starting {kind}{' on CPU 0' if pinned else ''}")
                servers.append(launch_server(kind, Path(workdir), SERVER_CPU if pinned else None))
            if pinned:
                os.sched_setaffinity(0, {LOADGEN_CPU})
            loadgen = ProcessProbe(os.getpid())
            for scenario, size in scenario_runs(names, sizes):
                for server in servers:
                    target = BenchTarget(server.kind, Endpoint(LOOPBACK, server.port), server.pid)
                    if not server.is_running():
                        results.append(ScenarioResult(server.kind, scenario.name, size, "-",
                                                      error=f"{server.kind} is not running"))
                        continue
                    results.append(_run_one(scenario, size, settings, target, loadgen, progress))
                    if not server.is_running():
                        progress(f"{server.kind} exited:\n{server.log_tail()}")
        finally:
            os.sched_setaffinity(0, original_affinity)
            for server in servers:
                server.stop()
    return Comparison(results, pinned)


def _run_one(
    scenario: Scenario, size: int, settings: BenchSettings, target: BenchTarget, loadgen: ProcessProbe,
    progress: Progress,
) -> ScenarioResult:
    size_note = f" {size} B" if scenario.sized else ""
    progress(f"{target.label}: {scenario.name}{size_note} ({scenario.description})")
    try:
        return run_scenario(scenario, size, settings, target, loadgen)
    except (BenchError, psutil.Error) as error:
        message = str(error) or type(error).__name__
        return ScenarioResult(target.label, scenario.name, size, "-", error=message)
