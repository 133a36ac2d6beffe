"""Fixtures for the firmware tests: virtual boards on pseudo-terminals and the device CLI as a process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from virtual_board import VirtualBoard

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def virtual_board(tmp_path):
    """A MicroPython Unix port whose serial port is board.port; stopped by its pid after the test."""
    board = VirtualBoard(tmp_path / "board")
    yield board
    board.stop()


def device_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m edgenats.device ARGS`, as a user would run it."""
    return subprocess.run([sys.executable, "-m", "edgenats.device", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def write_config(path: Path, **settings) -> Path:
    path.write_text(json.dumps(settings))
    return path
