"""The sensor service and the serial bridge deployed by their roles, then running: the edgenats role's
config and service steps start a real broker, the sensors and serial_bridge roles (with the real account
tools, /etc overlaid: private_etc.py) install their units, which `fake_systemctl.py` starts for real with
the config handed over as systemd's LoadCredential does. Both log in with the broker user the inventory
gave, are found by `$SRV.PING` and answer their status endpoints with what the inventory listed (the
sensor on a bus this machine lacks publishes its error reading, the board not plugged in is waiting); a
changed sensor list restarts the sensor service and leaves the bridge's process running. A virtual board
on a port the bridge serves is then provisioned by the devices role: the bridge pauses for it (it holds
the port) and runs again, which the run does not count as a change."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import nats
import nats.errors
import psutil
import pytest
from ansible_play import BIN, ROOT, local_play
from firmware.virtual_board import VirtualBoard
from missing_tools import missing_tool
from private_etc import PrivateEtc
from role_files import task_status
from role_service import RoleRun

PROGRAMS = ("edgenats-sensors", "edgenats-serial")
pytestmark = [
    pytest.mark.slow,  # two runs of three roles with a broker and both services: about a minute
    pytest.mark.usefixtures("services_installed"),
]


@pytest.fixture
def services_installed() -> None:
    if not all((BIN / program).exists() for program in PROGRAMS):
        missing_tool("edgenats-sensors and edgenats-serial are not installed in this virtualenv "
                     "(.venv/bin/pip install -e '.[test]')")

PLAY = local_play("Broker and the services beside it", "edgenats/config.yml", "edgenats/service.yml", "sensors",
                  "serial_bridge", "devices")
GREENHOUSE = {"name": "greenhouse", "type": "bme280", "bus": 99, "address": 0x76, "interval_s": 1}


def unit_pid(role: RoleRun, unit: str) -> int:
    """The running process of a unit the fake systemctl started."""
    pid = int((role.units / f"{unit}.pid").read_text())
    assert psutil.pid_exists(pid), f"{unit} is not running:\n{(role.units / f'{unit}.log').read_text()[-2000:]}"
    return pid


def stop_unit(role: RoleRun, unit: str) -> None:
    pid_file = role.units / f"{unit}.pid"
    if pid_file.exists():
        try:
            process = psutil.Process(int(pid_file.read_text()))
            process.send_signal(signal.SIGTERM)
            process.wait(10)
        except psutil.NoSuchProcess:
            pass


async def status(client, service: str, timeout: float = 30) -> list[dict]:
    """The service's `status` endpoint's answer, found through `$SRV.INFO` once the service is up."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            info = json.loads((await client.request(f"$SRV.INFO.{service}", b"", timeout=2)).data)
            break
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
            assert time.monotonic() < deadline, f"{service} never answered $SRV.INFO"
            await asyncio.sleep(0.2)
    subject = next(endpoint["subject"] for endpoint in info["endpoints"] if endpoint["name"] == "status")
    return json.loads((await client.request(subject, b"", timeout=5)).data)


async def test_the_roles_services_run_answer_and_restart_alone(tmp_path):
    (tmp_path / "broker").mkdir()
    role = RoleRun(tmp_path / "broker")
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (tmp_path / "wheels").mkdir()
    board = VirtualBoard(tmp_path / "board")
    play = PrivateEtc(overlay, PLAY)
    play.base |= role.base | {"edgenats_users": [{"user": "svc", "password": "pw"}],
                              "edgenats_jetstream_domain": "site1", "edgenats_server_name": "pi1",
                              "edgenats_jetstream": False, "edgenats_wheel_cache": str(tmp_path / "wheels"),
                              # No udev nor systemd-modules-load runs here: the rules wait for a boot.
                              "sensors_manage_devices": False, "serial_bridge_manage_devices": False,
                              "edgenats_serial_boards": [
                                  {"name": "door", "usb_serial": "E6614C311B4B7C28"}, {"path": board.port}],
                              "devices_venv": str(BIN.parent), "devices_source": str(ROOT),
                              "devices_source_dest": str(tmp_path / "src"), "devices_pip_extra_args": "--no-index",
                              "devices_servers": [f"nats://127.0.0.1:{role.port}"]}
    try:
        first = play(env=role.env, edgenats_sensors=[GREENHOUSE])
        assert first.returncode == 0, first.stdout[-4000:] + first.stderr
        client = await nats.connect(f"nats://127.0.0.1:{role.port}", user="svc", password="pw")
        readings = await client.subscribe("site1.pi1.greenhouse")
        error = json.loads((await readings.next_msg(timeout=30)).data)
        assert error["sensor"] == "greenhouse" and "error" in error, error
        sensors = await status(client, "edgenats-sensors")
        assert [(s["name"], s["bus"], s["address"], s["interval_s"]) for s in sensors] == [("greenhouse", 99, 0x76, 1)]
        ports = await status(client, "edgenats-serial")
        assert [(p["path"], p["state"]) for p in ports] == [("/dev/edgenats/door", "waiting"), (board.port, "open")]
        sensors_pid, serial_pid = unit_pid(role, "edgenats-sensors"), unit_pid(role, "edgenats-serial")

        second = play(env=role.env, edgenats_sensors=[GREENHOUSE | {"interval_s": 2}])
        assert second.returncode == 0, second.stdout[-4000:] + second.stderr
        assert unit_pid(role, "edgenats-serial") == serial_pid, "the bridge kept running"
        assert unit_pid(role, "edgenats-sensors") != sensors_pid, "the sensor service restarted"
        assert [s["interval_s"] for s in await status(client, "edgenats-sensors")] == [2]

        devices = [{"id": "bridged", "board": "unix", "port": board.port, "config": {"interval_s": 0.5}}]
        third = play(env=role.env, edgenats_sensors=[GREENHOUSE | {"interval_s": 2}], devices_list=devices)
        assert third.returncode == 0, third.stdout[-4000:] + third.stderr
        assert "changed: [localhost]" in third.stdout.split("Device is provisioned: bridged")[1]
        assert task_status(third, "devices", "Serial bridge pauses while the boards are provisioned") == "ok"
        assert task_status(third, "devices", "Serial bridge runs again") == "ok", "a pause is no change"
        assert unit_pid(role, "edgenats-serial") != serial_pid, "the bridge paused and runs again"
        ports = await status(client, "edgenats-serial")
        assert [(p["path"], p["state"]) for p in ports][1] == (board.port, "open")
        await client.close()
    finally:
        board.stop()
        for unit in PROGRAMS:
            stop_unit(role, unit)
        role.stop()
