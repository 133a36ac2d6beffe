"""Ansible fixtures: the edgenats role's config step run on this machine into a temporary folder."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from ansible_play import BIN, run, service_account

CONFIG_PLAY = """
- name: Broker config only
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Config step of the edgenats role
      ansible.builtin.include_role:
        name: edgenats
        tasks_from: config.yml
"""


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
