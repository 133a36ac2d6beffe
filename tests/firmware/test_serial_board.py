"""A board without a network on a serial line ("transport": "serial"): the real MicroPython Unix port runs the
app with its console on a pseudo-terminal, the bridge runs as its own process (`edgenats-serial --config`) on
a stable path (a symlink standing in for /dev/serial/by-id), and a stream captures the telemetry. Readings
arrive, commands by request reach the board and its answers come back, a frame with a bad checksum is
refused and sent again, and the board unplugged and replugged mid-stream loses and doubles nothing."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import nats
import pytest
from firmware_helpers import device_cli, write_config
from serial_bridge_process import BridgeProcess
from test_reboot_outbox import last_kept
from test_wifi_outage import until
from virtual_board import VirtualBoard

OPERATOR_CLI = [sys.executable, "-m", "edgenats.cli.operator_main"]
SERIAL_MODE_HEAP = 128 * 1024  # the heap firmware/README.md gives the serial mode


async def stored_readings(js) -> list[dict]:
    """The TELEMETRY stream's readings, in stream order, each with its Nats-Msg-Id."""
    state = (await js.stream_info("TELEMETRY")).state
    readings = []
    for seq in range(state.first_seq, state.last_seq + 1) if state.messages else ():
        msg = await js.get_msg("TELEMETRY", seq)
        readings.append({**json.loads(msg.data), "msg_id": msg.headers["Nats-Msg-Id"]})
    return readings


def serial_ls(url: str, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([*OPERATOR_CLI, "serial", "ls", "-s", url, *flags], capture_output=True, text=True,
                          timeout=30)


@pytest.fixture
def serial_board(tmp_path):
    """A virtual board with the heap the serial mode is documented to need; stopped by its pid."""
    board = VirtualBoard(tmp_path / "board", heap_bytes=SERIAL_MODE_HEAP)
    yield board
    board.stop()


async def test_serial_board_readings_commands_and_replug(server_kind, server_factory, serial_board, tmp_path):
    virtual_board = serial_board
    broker = server_factory(server_kind, extra_args=["-js", "-sd", str(tmp_path / "store")])
    peer = await nats.connect(broker.url)
    js = peer.jetstream()
    await js.add_stream(name="TELEMETRY", subjects=["devices.*.telemetry"])
    delivered = []

    async def on_reading(msg):
        delivered.append(json.loads(msg.data)["seq"])

    await peer.subscribe("devices.sb1.telemetry", cb=on_reading)
    config = write_config(tmp_path / "sb1.json", device_id="sb1", transport="serial", interval_s=0.2)
    done = await asyncio.to_thread(device_cli, "provision", "--board", "unix", "--port", virtual_board.port,
                                   "--config", str(config))
    assert done.returncode == 0, done.stderr + virtual_board.console_text()
    by_id = tmp_path / "by-id" / "usb-edgenats_sb1-if00"
    by_id.parent.mkdir()
    by_id.symlink_to(virtual_board.port)
    bridge = BridgeProcess(tmp_path / "bridge", [broker.url], [str(by_id)])
    try:
        await until(lambda: {1, 2, 3} <= set(delivered), "readings at the subscriber", virtual_board, 30)

        answer = json.loads((await peer.request("devices.sb1.cmd", b'{"op": "read"}', timeout=5)).data)
        assert answer["id"] == "sb1" and answer["kind"] == "heap_free" and answer["seq"] >= 3
        answer = json.loads((await peer.request("devices.sb1.cmd", b'{"op": "interval", "seconds": 0.3}',
                                                timeout=5)).data)
        assert answer == {"id": "sb1", "interval_s": 0.3}

        virtual_board.corrupt_next_frame(b"PUB")
        await until(lambda: "refused a frame (crc)" in bridge.log_text(), "the bad frame refused", virtual_board, 10)

        at_unplug = last_kept(virtual_board)
        by_id.unlink()
        virtual_board.unplug()
        await until(lambda: last_kept(virtual_board) >= at_unplug + 3, "readings kept while unplugged",
                    virtual_board, 15)
        virtual_board.replug()
        by_id.symlink_to(virtual_board.port)
        at_replug = last_kept(virtual_board)
        deadline = asyncio.get_running_loop().time() + 30
        while len(readings := await stored_readings(js)) < at_replug + 2:
            assert asyncio.get_running_loop().time() < deadline, \
                f"{len(readings)} stored, not {at_replug + 2}\n{bridge.log_text()[-2000:]}"
            await asyncio.sleep(0.2)

        assert [r["seq"] for r in readings] == list(range(1, len(readings) + 1)), readings
        assert len({r["msg_id"] for r in readings}) == len(readings)
        assert all(r["msg_id"].startswith("sb1-") for r in readings)

        listed = await asyncio.to_thread(serial_ls, broker.url, "--json")
        assert listed.returncode == 0, listed.stderr
        [port] = json.loads(listed.stdout)
        assert port["path"] == str(by_id) and port["state"] == "open" and port["device_id"] == "sb1"
        assert port["opened"] == 2 and port["naks"] >= 1 and port["acks"] >= len(readings)
        table = await asyncio.to_thread(serial_ls, broker.url)
        assert table.returncode == 0, table.stderr
        header, _, row = table.stdout.strip().splitlines()[-3:]
        assert header.split()[:3] == ["NODE", "PATH", "STATE"]
        assert row.split()[:4] == ["site1.pi1", str(by_id), "open", "sb1"]
    finally:
        bridge.stop()
        await peer.close()
