"""Fixtures for the system-account tests: a server of each kind with a system account SYS and an
application account APP (users and helpers are in system_helpers.py)."""

from __future__ import annotations

import pytest
from system_helpers import system_config


@pytest.fixture
def system_server(server_kind, server_factory):
    return server_factory(server_kind, system_config(f"sys-{server_kind}"))
