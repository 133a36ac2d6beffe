"""Fixtures for the firmware tests: virtual boards on pseudo-terminals (helpers: firmware_helpers.py)."""

from __future__ import annotations

import pytest
from virtual_board import VirtualBoard


@pytest.fixture
def virtual_board(tmp_path):
    """A MicroPython Unix port whose serial port is board.port; stopped by its pid after the test."""
    board = VirtualBoard(tmp_path / "board")
    yield board
    board.stop()
