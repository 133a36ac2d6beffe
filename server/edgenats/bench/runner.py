"""Runs the chosen scenarios against one server, or against several side by side: the servers started
for a comparison, pinned and stopped by pid, and each scenario measured on every side in turn."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from edgenats.bench.errors import BenchError
from edgenats.bench.idle_connections import raise_open_files_limit
from edgenats.bench.probes import ProcessProbe
from edgenats.bench.results import ScenarioResult
from edgenats.bench.scenarios import SCENARIOS, BenchTarget, Scenario, run_scenario, scenario_runs
from edgenats.bench.server_process import LOOPBACK, LaunchedServer, launch_server
from edgenats.bench.settings import BenchSettings
from edgenats.bench.wire import Endpoint, open_connection

REFERENCE_KIND = "nats-server"
CANDIDATE_KIND = "edgenats"
SERVER_CPU = 0
LOADGEN_CPU = 1

DURABILITIES = ("default", "always")

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


@dataclass
class ComparedTarget:
    """One side of a comparison: what the load generator measures, and every server that path needs."""

    target: BenchTarget
    servers: list[LaunchedServer]
    durability: str | None = None  # JetStream servers: "default" or "always" (their sync_interval)


ServerLauncher = Callable[[str, int | None, str | None], LaunchedServer]


def can_pin(pin: bool) -> bool:
    """Pinning needs CPU 0 and CPU 1 to be available to this process."""
    return pin and {SERVER_CPU, LOADGEN_CPU} <= os.sched_getaffinity(0)


@contextmanager
def launched_servers(progress: Progress) -> Iterator[ServerLauncher]:
    """Yields `launch(kind, cpu, config)`; on exit every server launched is stopped by its pid and this
    process's CPU affinity is restored."""
    original_affinity = os.sched_getaffinity(0)
    servers: list[LaunchedServer] = []
    with tempfile.TemporaryDirectory(prefix="edgenats-bench-") as workdir:

        def launch(kind: str, cpu: int | None, config: str | None = None) -> LaunchedServer:
            progress(f"starting {kind}{f' on CPU {cpu}' if cpu is not None else ''}")
            server = launch_server(kind, Path(workdir), cpu, config)
            servers.append(server)
            return server

        try:
            yield launch
        finally:
            os.sched_setaffinity(0, original_affinity)
            for server in servers:
                server.stop()


def measure_in_turn(
    names: list[str], sizes: list[int], settings: BenchSettings, compared: list[ComparedTarget],
    pinned: bool, progress: Progress,
) -> list[ScenarioResult]:
    """Each scenario and size against every compared target in turn (so drift hits both alike), with the
    load generator on CPU 1 when pinned; a target whose servers stopped gets an error result."""
    if pinned:
        os.sched_setaffinity(0, {LOADGEN_CPU})
    loadgen = ProcessProbe(os.getpid())
    results: list[ScenarioResult] = []
    for scenario, size in scenario_runs(names, sizes):
        for side in compared:
            stopped = [server.kind for server in side.servers if not server.is_running()]
            if stopped:
                results.append(ScenarioResult(side.target.label, scenario.name, size, "-",
                                              durability=side.durability,
                                              error=f"{' and '.join(stopped)} not running"))
                continue
            result = _run_one(scenario, size, settings, side.target, loadgen, progress)
            result.durability = side.durability
            results.append(result)
            for server in side.servers:
                if not server.is_running():
                    progress(f"{server.kind} exited:\n{server.log_tail()}")
    return results


def jetstream_config(kind: str, durability: str) -> str:
    """JetStream on, its data in the server's working folder, with `sync_interval: always` or the default."""
    sync = "; sync_interval: always" if durability == "always" else ""
    return f'jetstream {{ store_dir: "js-{kind}-{durability}"{sync} }}\n'


def run_comparison(
    names: list[str], sizes: list[int], settings: BenchSettings, pin: bool = True,
    progress: Progress = print_progress, durabilities: tuple[str, ...] = DURABILITIES,
) -> Comparison:
    """Start both servers (pinned to CPU 0 when there are two CPUs or more), run each scenario against
    each in turn with the load generator on CPU 1, and stop both by pid. JetStream scenarios run against
    a pair started with JetStream on, once per durability setting, each pair stopped after its turn."""
    pinned = can_pin(pin)
    core = [name for name in names if not SCENARIOS[name].jetstream]
    jetstream = [name for name in names if SCENARIOS[name].jetstream]
    if "memory" in names:
        # Raised before the servers start so that they inherit the higher limit too.
        raise_open_files_limit(settings.connections)
    results: list[ScenarioResult] = []
    with launched_servers(progress) as launch:
        passes = [(core, None)] if core else []
        passes += [(jetstream, durability) for durability in durabilities] if jetstream else []
        for chosen, durability in passes:
            compared = []
            for kind in (REFERENCE_KIND, CANDIDATE_KIND):
                config = jetstream_config(kind, durability) if durability else None
                server = launch(kind, SERVER_CPU if pinned else None, config)
                target = BenchTarget(kind, Endpoint(LOOPBACK, server.port), server.pid)
                compared.append(ComparedTarget(target, [server], durability))
            results += measure_in_turn(chosen, sizes, settings, compared, pinned, progress)
            for side in compared:
                for server in side.servers:
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
