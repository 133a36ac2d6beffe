"""A test that needs a tool this machine lacks: skipped with the reason (and the command that installs it),
except under CI=true, where `.ci/run` installs every tool the tests use and a missing one is a failure."""

from __future__ import annotations

import os

import pytest


def missing_tool(reason: str) -> None:
    """Skip the calling test for `reason`, or fail it under CI=true."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)
