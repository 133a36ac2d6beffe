"""Fixtures for the wire tests: servers shared by a whole test module, restarted only if one died.

Starting a broker per test would cost most of the time budget; tests that need no special config
share one server per kind and configuration. A server that crashed is replaced, so one crash shows
up in the test that caused it instead of failing every later test.
"""

from __future__ import annotations

import pytest
from servers import RunningServer, free_port, start_server


@pytest.fixture(scope="module")
def shared_servers(tmp_path_factory):
    """`get(kind, config=None, monitor=False)` returns a running server shared by the module."""
    live: dict[tuple, RunningServer] = {}
    started: list[RunningServer] = []

    def get(kind: str, config: str | None = None, monitor: bool = False) -> RunningServer:
        key = (kind, config, monitor)
        running = live.get(key)
        if running is None or running.process.poll() is not None:
            http_port = free_port() if monitor else None
            extra_args = ["-m", str(http_port)] if monitor else []
            running = start_server(kind, tmp_path_factory.mktemp("servers"), config, extra_args)
            running.http_port = http_port
            live[key] = running
            started.append(running)
        return running

    yield get
    for running in started:
        running.stop()


@pytest.fixture
def server(server_kind, shared_servers) -> RunningServer:
    """A default-configured server of each kind, shared by the test module."""
    return shared_servers(server_kind)
