"""`edgenats serial ls` without a bridge: one line saying so, exit status 1. (A bridge's ports, as a table
and as JSON, with a board on one: tests/firmware/test_serial_board.py; a port waiting for its board:
tests/serial_bridge/test_serial_bridge_lines.py.)"""

from __future__ import annotations

import asyncio

from operator_cli import run_cli


async def test_serial_ls_without_a_bridge(server_kind, server_factory):
    broker = server_factory(server_kind)
    done = await asyncio.to_thread(run_cli, "serial", "ls", "-s", broker.url, "--timeout", "0.2")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == "edgenats: error: no edgenats-serial service answered within 0.2s\n"
