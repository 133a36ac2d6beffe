"""The edgenats role's config, service and streams steps run on this machine against a real broker: the
role's handlers drive it through `fake_systemctl.py` (first on PATH, since no systemd runs here)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
from ansible_play import BIN, ansible_env, local_play, run, service_account
from servers import _listens, free_port

HERE = Path(__file__).resolve().parent


SERVICE_PLAY = local_play("Broker config and service", "edgenats/config.yml", "edgenats/service.yml",
                          "edgenats/streams.yml")


class RoleRun:
    """The role's config, service and streams steps on this machine, with the fake systemctl first on PATH."""

    def __init__(self, tmp_path: Path):
        self.play = tmp_path / "service.yml"
        self.play.write_text(SERVICE_PLAY)
        self.units = tmp_path / "units"
        self.units.mkdir()
        tools = tmp_path / "bin"
        tools.mkdir()
        (tools / "systemctl").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{HERE / "fake_systemctl.py"}" "$@"\n')
        (tools / "systemctl").chmod(0o755)
        self.env = ansible_env() | {"FAKE_SYSTEMD_UNITS": str(self.units),
                                    "PATH": f"{tools}{os.pathsep}{ansible_env()['PATH']}"}
        self.port = free_port()
        self.base = {"edgenats_config_dir": str(tmp_path / "etc"), "edgenats_data_dir": str(tmp_path / "data"),
                     "edgenats_unit_dir": str(self.units), "edgenats_service_name": "edgenats-test",
                     "edgenats_venv": str(BIN.parent), **service_account(),
                     "edgenats_listen_host": "127.0.0.1", "edgenats_port": self.port,
                     "edgenats_server_name": "site-1", "edgenats_start_timeout": 20,
                     # A restart is a lame-duck stop: a short grace period keeps the tests quick.
                     "edgenats_lame_duck_grace_period": "1s",
                     "ansible_python_interpreter": sys.executable}

    def __call__(self, **extra) -> subprocess.CompletedProcess:
        done = run(str(BIN / "ansible-playbook"), "-i", "localhost,", str(self.play), "-e",
                   json.dumps(self.base | extra), env=self.env, timeout=120)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr
        return done

    def pid(self) -> int:
        pid = int((self.units / "edgenats-test.pid").read_text())
        assert _listens(pid, self.port), "the unit's process is the broker on the port"
        return pid

    def log(self) -> str:
        return (self.units / "edgenats-test.log").read_text()

    def stop(self) -> None:
        pid_file = self.units / "edgenats-test.pid"
        if pid_file.exists():
            try:
                broker = psutil.Process(int(pid_file.read_text()))
                broker.send_signal(signal.SIGTERM)
                broker.wait(10)
            except psutil.NoSuchProcess:
                pass


def handler_ran(done: subprocess.CompletedProcess, name: str) -> bool:
    """Whether the handler acted (not only listed as skipped)."""
    banner = f"RUNNING HANDLER [edgenats : {name}]"
    return banner in done.stdout and done.stdout.split(banner)[1].lstrip("* \n").startswith("changed:")


async def wait_for_log(role: RoleRun, line: str, timeout: float = 10) -> None:
    """Poll the broker's log until `line` is in it (a reload or restart the handlers caused)."""
    deadline = time.monotonic() + timeout
    while line not in role.log():
        assert time.monotonic() < deadline, f"{line!r} not logged:\n{role.log()[-2000:]}"
        await asyncio.sleep(0.05)
