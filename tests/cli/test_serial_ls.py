"""`edgenats serial ls`: without a bridge, one line saying so and exit status 1; with one whose board is
not plugged in, its port listed as waiting. (tests/firmware/test_serial_board.py lists a board's port, as a
table and as JSON.)"""

from __future__ import annotations

import asyncio

from operator_cli import run_cli
from serial_bridge_process import BridgeProcess


async def test_serial_ls(server_kind, server_factory, tmp_path):
    broker = server_factory(server_kind)
    done = await asyncio.to_thread(run_cli, "serial", "ls", "-s", broker.url, "--timeout", "0.2")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == "edgenats: error: no edgenats-serial bridge answered within 0.2s\n"

    absent = tmp_path / "by-id" / "usb-Raspberry_Pi_Pico_E6614C311B4B2C36-if00"
    bridge = BridgeProcess(tmp_path / "bridge", [broker.url], [str(absent)], node="pi7")
    try:
        deadline = asyncio.get_running_loop().time() + 15
        while "status on site1.pi7.serial.status" not in bridge.log_text():
            assert asyncio.get_running_loop().time() < deadline, bridge.log_text()
            await asyncio.sleep(0.05)
        table = await asyncio.to_thread(run_cli, "serial", "ls", "-s", broker.url, "--timeout", "0.2")
        assert table.returncode == 0, table.stderr
        header, rule, row = table.stdout.splitlines()
        assert header.split() == ["NODE", "PATH", "STATE", "DEVICE", "FIRMWARE", "IN", "OUT", "ACKS", "NAKS",
                                  "LAST", "ERROR"]
        assert set(rule.replace(" ", "")) == {"-"}
        assert row.split() == ["site1.pi7", str(absent), "waiting", "-", "-", "0", "0", "0", "0"]
    finally:
        bridge.stop()
