"""The devices role run for real on this machine against a virtual board: it templates the device's
config, runs `edgenats device provision` (real mpremote, real MicroPython on a pseudo-terminal), the app
starts and publishes to a broker, and a second run reports no change."""

from __future__ import annotations

import json
import sys

import nats
from ansible_play import BIN, ROOT, run
from firmware.virtual_board import VirtualBoard

DEVICES_PLAY = """
- name: Devices only
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: devices
"""


async def test_devices_role_provisions_a_board_and_is_idempotent(server_factory, tmp_path):
    broker = server_factory("edgenats")
    board = VirtualBoard(tmp_path / "board")
    play = tmp_path / "devices.yml"
    play.write_text(DEVICES_PLAY)
    extra = {
        "ansible_python_interpreter": sys.executable,
        "devices_list": [{"id": "role-dev", "board": "unix", "port": board.port, "config": {"interval_s": 0.5}}],
        "devices_servers": [broker.url],
        "devices_venv": str(BIN.parent),
        "devices_source": str(ROOT),
        "devices_source_dest": str(tmp_path / "src"),
        "devices_config_dir": str(tmp_path / "devices"),
        "devices_pip_extra_args": "--no-index",
    }
    try:
        peer = await nats.connect(broker.url)
        readings = await peer.subscribe("devices.role-dev.telemetry")
        first = run(str(BIN / "ansible-playbook"), "-i", "localhost,", str(play), "-e", json.dumps(extra))
        assert first.returncode == 0, first.stdout[-4000:] + first.stderr
        assert "changed: [localhost]" in first.stdout.split("Device is provisioned: role-dev")[1]
        reading = json.loads((await readings.next_msg(timeout=30)).data)
        assert reading["id"] == "role-dev"
        written = json.loads((tmp_path / "devices" / "role-dev.json").read_text())
        assert written["servers"] == [broker.url] and written["interval_s"] == 0.5
        assert "Ansible managed" in written["_comment"]

        second = run(str(BIN / "ansible-playbook"), "-i", "localhost,", str(play), "-e", json.dumps(extra))
        assert second.returncode == 0, second.stdout[-4000:]
        recap = next(line for line in second.stdout.splitlines() if line.startswith("localhost "))
        assert "changed=0" in recap, second.stdout[-4000:]
        await readings.next_msg(timeout=30)  # the app runs again after the check
        await peer.close()
    finally:
        board.stop()
