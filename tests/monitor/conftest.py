"""Fixtures for the monitoring tests: a server of each kind with its HTTP monitor on a free port, and a
headless Chromium driven over the DevTools protocol."""

from __future__ import annotations

import os
import shutil

import pytest
from devtools_browser import CHROMIUM, Browser
from missing_tools import missing_tool
from monitor_http import Monitored, start_monitored


@pytest.fixture
def monitored(server_kind, server_factory) -> Monitored:
    return start_monitored(server_factory, server_kind)


@pytest.fixture
async def browser():
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which(CHROMIUM)):
        missing_tool(f"the dashboard test needs {CHROMIUM} (apt-get install -y --no-install-recommends chromium)")
    started = Browser()
    await started.start()
    yield started
    await started.stop()
