"""Fixtures for the monitoring tests: a server of each kind with its HTTP monitor on a free port."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from monitor_http import Monitor
from servers import RunningServer, free_port, wait_for_port


@dataclass
class Monitored:
    server: RunningServer
    monitor: Monitor


@pytest.fixture
def monitored(server_kind, server_factory) -> Monitored:
    http_port = free_port()
    running = server_factory(server_kind, extra_args=["-m", str(http_port)])
    # The client port can accept before the monitor port is bound (edgenats binds it second).
    wait_for_port(http_port, running.process, running.log_path)
    return Monitored(running, Monitor(http_port))
