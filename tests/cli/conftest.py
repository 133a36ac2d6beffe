"""Fixtures for the operator CLI tests: background `edgenats` commands, killed by their pid at teardown."""

from __future__ import annotations

import pytest
from operator_cli import BackgroundCommand


@pytest.fixture
def background_cli():
    """Start background `edgenats` commands; any still running at teardown is killed by its pid."""
    started: list[BackgroundCommand] = []

    def start(*args: str) -> BackgroundCommand:
        command = BackgroundCommand(args)
        started.append(command)
        return command

    yield start
    for command in started:
        command.stop()
