"""What the Ansible tests put on PATH as `systemctl`, where no systemd runs: the verbs the
systemd_service module uses, acting for real on the unit files the role writes to
$FAKE_SYSTEMD_UNITS. `start` runs the unit's ExecStartPre then its ExecStart (in its
WorkingDirectory, output appended to <unit>.log, pid in <unit>.pid), `stop` sends SIGTERM to that pid
and waits for it to go, `reload` runs ExecReload with $MAINPID, as systemd does."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

UNITS = Path(os.environ["FAKE_SYSTEMD_UNITS"])


def unit_path(unit: str, suffix: str) -> Path:
    return UNITS / (unit.removesuffix(".service") + suffix)


def service_settings(unit: str) -> dict[str, str]:
    settings: dict[str, str] = {}
    for line in unit_path(unit, ".service").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            settings[key] = value
    return settings


def main_pid(unit: str) -> int:
    pid_file = unit_path(unit, ".pid")
    if not pid_file.exists():
        return 0
    pid = int(pid_file.read_text())
    try:
        return pid if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE else 0
    except psutil.NoSuchProcess:
        return 0


def start(unit: str) -> None:
    settings = service_settings(unit)
    if "ExecStartPre" in settings:
        subprocess.run(shlex.split(settings["ExecStartPre"]), check=True, capture_output=True)
    with unit_path(unit, ".log").open("ab") as log:
        process = subprocess.Popen(shlex.split(settings["ExecStart"]), cwd=settings.get("WorkingDirectory"),
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    unit_path(unit, ".pid").write_text(str(process.pid))


def stop(unit: str) -> None:
    pid = main_pid(unit)
    if pid:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while main_pid(unit) and time.monotonic() < deadline:
            time.sleep(0.05)


def reload(unit: str) -> None:
    command = service_settings(unit)["ExecReload"].replace("$MAINPID", str(main_pid(unit)))
    subprocess.run(shlex.split(command), check=True)


def show(unit: str) -> None:
    if not unit_path(unit, ".service").exists():
        print("LoadState=not-found\nActiveState=inactive")
        return
    pid = main_pid(unit)
    print(f"LoadState=loaded\nActiveState={'active' if pid else 'inactive'}\nMainPID={pid}")


def is_enabled(unit: str) -> int:
    enabled = unit_path(unit, ".enabled").exists()
    print("enabled" if enabled else "disabled")
    return 0 if enabled else 1


def main(arguments: list[str]) -> int:
    verb, units = arguments[0], [a for a in arguments[1:] if not a.startswith("-")]
    if verb == "daemon-reload":
        return 0
    unit = units[0]
    if verb == "show":
        show(unit)
    elif verb == "is-enabled":
        return is_enabled(unit)
    elif verb == "enable":
        unit_path(unit, ".enabled").touch()
    elif verb == "start":
        start(unit)
    elif verb == "stop":
        stop(unit)
    elif verb == "restart":
        stop(unit)
        start(unit)
    elif verb == "reload":
        reload(unit)
    else:
        print(f"fake systemctl: {verb} is not supported", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
