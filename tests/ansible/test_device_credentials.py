"""A credential per device, end to end: the edgenats role's config and service steps and the devices role
run for real (fake systemctl, two virtual boards on the MicroPython Unix port) with a password per device.
Each board's app connects as its own user (/connz), its readings arrive, and a publish outside its
subjects made with its credential gets nats-server's permissions violation and goes nowhere; a second
run of the broker's config step changes nothing (the stored hashes stay, no reload), and one with a new
password for a board reloads the broker, which then takes the new password."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request

import nats
import pytest
from ansible_play import BIN, ROOT, local_play, recap
from firmware.virtual_board import MICROPYTHON, VirtualBoard
from role_service import HERE, RoleRun, handler_ran, wait_for_log
from servers import free_port
from subscribed import subscribed

PLAY = local_play("Broker and devices", "edgenats/config.yml", "edgenats/service.yml", "devices")
# The second run: the broker's config step alone, which writes the device users (the boards' provisioning is
# held idempotent by test_devices_role.py).
CONFIG_PLAY = local_play("Broker config", "edgenats/config.yml")
BOARDS = ("dev-a", "dev-b")


def probe(config_path, *subjects: str) -> str:
    """Publish with a device's credential from the MicroPython Unix port; its printed lines."""
    done = subprocess.run([str(MICROPYTHON), str(HERE / "unats_probe.py"), str(config_path), *subjects],
                          capture_output=True, text=True, timeout=30,
                          env=dict(os.environ, MICROPYPATH=str(ROOT / "micropython_client")))
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow  # two full role runs with two boards: about two minutes on a busy 2-core machine
async def test_each_board_logs_in_as_itself_and_only_reaches_its_subjects(tmp_path):
    role = RoleRun(tmp_path)
    role.play.write_text(PLAY)
    http_port = free_port()
    boards = {device_id: VirtualBoard(tmp_path / device_id) for device_id in BOARDS}
    extra = {
        "edgenats_http_port": http_port,
        "edgenats_users": [{"user": "admin", "password": "adminpw"}],
        "devices_passwords": {"dev-a": "a-vaulted-pw", "dev-b": "b-vaulted-pw"},
        "devices_list": [{"id": device_id, "board": "unix", "port": board.port, "config": {"interval_s": 0.5}}
                         for device_id, board in boards.items()],
        "devices_servers": [f"nats://127.0.0.1:{role.port}"],
        "devices_venv": str(BIN.parent),
        "devices_source": str(ROOT),
        "devices_source_dest": str(tmp_path / "src"),
        "devices_config_dir": str(tmp_path / "devices"),
        "devices_pip_extra_args": "--no-index",
    }
    try:
        first = role(**extra)
        users_step = first.stdout.split("TASK [devices : Device users are written]")[1].split("TASK")[0]
        assert users_step.count("changed: [localhost]") == 2 and "vaulted" not in first.stdout
        broker_config = (tmp_path / "etc" / "edgenats.conf").read_text()
        assert 'include "device-users/dev-a.conf"' in broker_config and "$device_dev-b" in broker_config
        assert "a-vaulted-pw" not in (tmp_path / "etc" / "device-users" / "dev-a.conf").read_text()
        written = json.loads((tmp_path / "devices" / "dev-a.json").read_text())
        assert (written["user"], written["password"]) == ("dev-a", "a-vaulted-pw")

        admin = await nats.connect(f"nats://127.0.0.1:{role.port}", user="admin", password="adminpw")
        readings = await admin.subscribe("devices.*.telemetry")
        senders = set()
        while senders != set(BOARDS):
            senders.add(json.loads((await readings.next_msg(timeout=60)).data)["id"])
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/connz?auth=true", timeout=5) as answer:
            connections = json.load(answer)["connections"]
        users = {c["name"]: c.get("authorized_user") for c in connections if c.get("name") in BOARDS}
        assert users == {"dev-a": "dev-a", "dev-b": "dev-b"}

        forged = await admin.subscribe("devices.dev-b.telemetry")
        own = await admin.subscribe("devices.dev-a.probe")
        await subscribed(admin)
        printed = probe(tmp_path / "devices" / "dev-a.json", "devices.dev-b.telemetry", "devices.dev-a.probe")
        assert printed.splitlines() == ['ERROR Permissions Violation for Publish to "devices.dev-b.telemetry"', "DONE"]
        assert (await own.next_msg(timeout=5)).data == b"probe", "published after the refused one"
        while forged.pending_msgs:  # dev-b's own readings only, never the probe's
            assert (await forged.next_msg(timeout=1)).data != b"probe"
        await admin.close()

        role.play.write_text(CONFIG_PLAY)
        second = role(**extra)
        assert "changed=0" in recap(second), second.stdout[-4000:]
        assert "RUNNING HANDLER" not in second.stdout, "an unchanged password leaves the broker alone"

        pid = role.pid()
        third = role(**(extra | {"devices_passwords": {"dev-a": "a-vaulted-pw", "dev-b": "b-new-pw"}}))
        assert handler_ran(third, "Reload edgenats") and not handler_ran(third, "Restart edgenats")
        await wait_for_log(role, "Reloaded server configuration")
        assert role.pid() == pid
        renewed = await nats.connect(f"nats://127.0.0.1:{role.port}", user="dev-b", password="b-new-pw")
        await renewed.publish("devices.dev-b.status", b"renewed")
        await renewed.flush()
        await renewed.close()
    finally:
        for board in boards.values():
            board.stop()
        role.stop()
