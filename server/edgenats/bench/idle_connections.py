"""The memory scenario: hold many idle client connections open and read the server's resident memory."""

from __future__ import annotations

import resource
import socket
import time

from edgenats.bench.errors import BenchError
from edgenats.bench.probes import CpuSnapshot, ProcessProbe
from edgenats.bench.results import ScenarioResult
from edgenats.bench.settings import BenchSettings
from edgenats.bench.wire import Endpoint, open_connection

DESCRIPTORS_SPARE = 256
SETTLE_S = 0.5


def raise_open_files_limit(needed: int) -> int:
    """Raise this process's soft RLIMIT_NOFILE towards `needed` (children inherit it); returns the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = needed + DESCRIPTORS_SPARE
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def run_idle_connections(
    server_label: str, settings: BenchSettings, endpoint: Endpoint,
    server: ProcessProbe | None, loadgen: ProcessProbe,
) -> ScenarioResult:
    """Open `settings.connections` connections (CONNECT + PING each, PONG awaited), then measure RSS."""
    result = ScenarioResult(server_label, "memory", 0, "connections", expected=settings.connections)
    limit = raise_open_files_limit(settings.connections)
    if limit != resource.RLIM_INFINITY and limit < settings.connections + DESCRIPTORS_SPARE:
        result.error = f"open files limit {limit} is too low for {settings.connections} connections"
        return result
    connections: list[socket.socket] = []
    try:
        if server is not None:
            result.idle_rss_bytes = server.rss_bytes()
        start = CpuSnapshot.take(server, loadgen)
        for index in range(settings.connections):
            connections.append(open_connection(endpoint, f"bench-idle-{index}"))
        end = CpuSnapshot.take(server, loadgen)
        result.counted = len(connections)
        result.elapsed_s = end.wall - start.wall
        result.loadgen_cpu_s = end.loadgen_cpu - start.loadgen_cpu
        if server is not None:
            result.server_cpu_s = end.server_cpu - start.server_cpu
            time.sleep(SETTLE_S)
            result.server_rss_bytes = server.rss_bytes()
    except BenchError as error:
        result.counted = len(connections)
        result.error = f"after {len(connections)} connections: {error}"
    finally:
        for connection in connections:
            connection.close()
    return result
