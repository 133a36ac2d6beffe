"""Shared fixtures: real servers (edgenats and nats-server) on OS-chosen ports, always stopped."""

from __future__ import annotations

import pytest
from servers import SERVER_KINDS, RunningServer, start_server


@pytest.fixture(params=SERVER_KINDS)
def server_kind(request) -> str:
    """Parametrises a test over our broker and the reference nats-server."""
    return request.param


@pytest.fixture
def server_factory(tmp_path):
    """Start servers with custom config; every server started is stopped at teardown."""
    started: list[RunningServer] = []

    def factory(kind: str, config: str | None = None, extra_args=(), **kwargs) -> RunningServer:
        running = start_server(kind, tmp_path / "servers", config, extra_args, **kwargs)
        started.append(running)
        return running

    yield factory
    for running in started:
        running.stop()


@pytest.fixture
def server(server_kind, server_factory) -> RunningServer:
    """A server of each kind with its default settings."""
    return server_factory(server_kind)
