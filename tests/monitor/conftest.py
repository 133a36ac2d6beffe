"""Fixtures for the monitoring tests: a server of each kind with its HTTP monitor on a free port."""

from __future__ import annotations

import pytest
from monitor_http import Monitored, start_monitored


@pytest.fixture
def monitored(server_kind, server_factory) -> Monitored:
    return start_monitored(server_factory, server_kind)
