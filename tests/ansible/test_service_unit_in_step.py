"""The two systemd units of the broker cannot drift apart: the Ansible role's template, rendered by
ansible-core with the role's defaults, and the unit `edgenats service install` writes with its own
defaults for the same folders have the same directives, in the same order."""

from __future__ import annotations

import json
from pathlib import PurePosixPath

import yaml
from ansible_play import ANSIBLE, BIN, run
from edgenats.cli.service_unit import UnitSettings, render_unit

ROLE = ANSIBLE / "roles" / "edgenats"
UNIT_VARIABLES = ("edgenats_user", "edgenats_group", "edgenats_data_dir", "edgenats_config_dir", "edgenats_venv",
                  "edgenats_watchdog_sec", "edgenats_lame_duck_duration", "edgenats_restart_sec",
                  "edgenats_memory_max", "edgenats_limit_nofile", "edgenats_jetstream")


def directives(unit: str) -> list[tuple[str, str, str]]:
    """(section, key, value) of every directive, comments and blank lines left out."""
    found, section = [], ""
    for line in unit.splitlines():
        if line.startswith("[") and line.endswith("]"):
            section = line
        elif line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found.append((section, key, value))
    return found


def test_the_roles_unit_and_service_installs_unit_have_the_same_directives(tmp_path):
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    variables = {name: defaults[name] for name in UNIT_VARIABLES}
    variables["edgenats_jetstream_store_dir"] = defaults["edgenats_data_dir"]
    rendered = tmp_path / "edgenats.service"
    done = run(str(BIN / "ansible"), "localhost", "-c", "local", "-e", json.dumps(variables), "-m",
               "ansible.builtin.template", "-a", f"src={ROLE / 'templates' / 'edgenats.service.j2'} dest={rendered}")
    assert done.returncode == 0, done.stdout + done.stderr
    venv, config_dir = PurePosixPath(defaults["edgenats_venv"]), PurePosixPath(defaults["edgenats_config_dir"])
    ours = render_unit(UnitSettings(bin_dir=venv / "bin", config_file=config_dir / "edgenats.conf",
                                    data_dir=PurePosixPath(defaults["edgenats_data_dir"])))
    assert directives(ours) == directives(rendered.read_text())
    assert ("[Service]", "KillSignal", "SIGUSR2") in directives(ours)
