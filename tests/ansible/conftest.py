"""Ansible fixtures: the edgenats role's config step run on this machine into a temporary folder, and the
sensors and serial_bridge roles run on this machine with /etc overlaid."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from ansible_play import BIN, local_play, run, service_account
from private_etc import PrivateEtc

CONFIG_PLAY = local_play("Broker config only", "edgenats/config.yml")


@pytest.fixture
def config_play(tmp_path):
    """Runs the role's config step on this machine, into tmp_path, with extra variables."""
    play = tmp_path / "config.yml"
    play.write_text(CONFIG_PLAY)
    base = {"edgenats_config_dir": str(tmp_path / "etc"), "edgenats_data_dir": str(tmp_path / "data"),
            "edgenats_venv": str(BIN.parent), "edgenats_server_name": "site-1",
            "ansible_python_interpreter": sys.executable, "edgenats_manage_service": False} | service_account()

    def play_with(**extra) -> subprocess.CompletedProcess:
        return run(str(BIN / "ansible-playbook"), "-i", "localhost,", str(play), "-e",
                   json.dumps(base | extra))

    play_with.config = tmp_path / "etc" / "edgenats.conf"
    return play_with


SERVICES_PLAY = """
- name: Services beside the broker
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: sensors
    - role: serial_bridge
"""


@pytest.fixture
def services_play(tmp_path):
    """The sensors and serial_bridge roles run on this machine with /etc overlaid (private_etc.py), the
    broker's virtualenv this interpreter's, an empty wheel cache (everything is installed already) and
    the broker's settings of a node: JetStream domain site1, server name pi1, a user."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    play = PrivateEtc(tmp_path, SERVICES_PLAY)
    play.base |= {"edgenats_venv": str(BIN.parent), "edgenats_wheel_cache": str(wheels),
                  "edgenats_manage_service": False, "edgenats_jetstream_domain": "site1",
                  "edgenats_server_name": "pi1", "edgenats_users": [{"user": "svc", "password": "pw"}]}
    return play
