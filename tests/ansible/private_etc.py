"""A play run for real as root in a private mount namespace whose /etc is an overlay: the accounts
(the real useradd and groupadd), udev rules, units and config files the roles write land in the
overlay's upper folder, which the test reads, and the machine's own /etc is never touched. The upper
folder persists between runs, so a second run sees what the first wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_play import BIN, run

# Mounts the overlay on /etc inside the namespace, then runs the command there.
OVERLAY = 'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1,workdir=$2" /etc && shift 2 && exec "$@"'


class PrivateEtc:
    """ansible-playbook on a play of this machine, with /etc overlaid by `folder`/upper."""

    def __init__(self, folder: Path, play: str):
        if os.geteuid() != 0:
            pytest.skip("needs root: the play runs in a private mount namespace with an overlay on /etc")
        self.upper, self.work = folder / "upper", folder / "work"
        self.upper.mkdir()
        self.work.mkdir()
        self.play = folder / "play.yml"
        self.play.write_text(play)
        self.base = {"ansible_python_interpreter": sys.executable}

    def __call__(self, env: dict | None = None, **extra) -> subprocess.CompletedProcess:
        """The play with the base variables and `extra`; `env`: ansible-playbook's environment, if not the usual."""
        return run("unshare", "--mount", "--propagation", "private", "sh", "-c", OVERLAY, "sh", str(self.upper),
                   str(self.work), str(BIN / "ansible-playbook"), "-i", "localhost,", str(self.play), "-e",
                   json.dumps(self.base | extra), env=env)

    def inside(self, *command: str) -> subprocess.CompletedProcess:
        """`command` run where the plays ran: with the overlay on /etc."""
        return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", OVERLAY, "sh",
                               str(self.upper), str(self.work), *command], capture_output=True, text=True, timeout=60)

    def etc(self, path: str) -> Path:
        """Where a file the play wrote under /etc is (`path` as on the node, e.g. /etc/edgenats/sensors.json)."""
        return self.upper / Path(path).relative_to("/etc")

    def written(self) -> set[str]:
        """Every file the plays wrote under /etc, as paths on the node."""
        return {"/etc/" + str(path.relative_to(self.upper)) for path in self.upper.rglob("*") if path.is_file()}

    def members(self, group: str) -> list[str] | None:
        """The members of `group` in the overlay's /etc/group (None: no such group)."""
        source = self.etc("/etc/group") if self.etc("/etc/group").exists() else Path("/etc/group")
        for line in source.read_text().splitlines():
            name, _, _, members = line.split(":")
            if name == group:
                return [member for member in members.split(",") if member]
        return None
