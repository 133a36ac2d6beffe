"""What the Ansible tests put on PATH as `systemctl`, where no systemd runs: the verbs the
systemd_service module uses, acting for real on the unit files the role writes to
$FAKE_SYSTEMD_UNITS. `start` runs the unit's ExecStartPre then its ExecStart (in its
WorkingDirectory, output appended to <unit>.log, pid in <unit>.pid) and, for Type=notify, waits for the
process to send READY=1 to the $NOTIFY_SOCKET it is given (failing if it exits or never does); each
LoadCredential=ID:PATH is copied into <unit>.credentials/ and handed over as $CREDENTIALS_DIRECTORY and
as `%d` in the command lines. `stop` sends the unit's KillSignal (SIGTERM by default) to that pid and
waits up to TimeoutStopSec for it to go, then kills it, `reload` runs ExecReload with $MAINPID, as
systemd does."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
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


_TIME_UNITS = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}


def time_span(text: str) -> float:
    """Seconds from a systemd time span such as "30s", "1m30s 30s" or "90" (seconds); parts add up."""
    if text.strip().isdigit():
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*(ms|sec|min|s|m|h)", text)
    return sum(float(number) * _TIME_UNITS[unit] for number, unit in parts)


def load_credentials(unit: str) -> Path:
    """The unit's LoadCredential=ID:PATH files copied into its credentials folder (readable by root only)."""
    folder = unit_path(unit, ".credentials")
    folder.mkdir(mode=0o700, exist_ok=True)
    for line in unit_path(unit, ".service").read_text().splitlines():
        if line.startswith("LoadCredential="):
            name, _, source = line.removeprefix("LoadCredential=").partition(":")
            (folder / name).write_bytes(Path(source).read_bytes())
            (folder / name).chmod(0o400)
    return folder


def start(unit: str) -> int:
    credentials = load_credentials(unit)
    settings = {key: value.replace("%d", str(credentials)) for key, value in service_settings(unit).items()}
    if "ExecStartPre" in settings:
        subprocess.run(shlex.split(settings["ExecStartPre"]), check=True, capture_output=True)
    env = dict(os.environ, CREDENTIALS_DIRECTORY=str(credentials))
    notify = None
    if settings.get("Type") == "notify":
        notify_path = unit_path(unit, ".notify")
        notify_path.unlink(missing_ok=True)
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(notify_path))
        env["NOTIFY_SOCKET"] = str(notify_path)
    with unit_path(unit, ".log").open("ab") as log:
        process = subprocess.Popen(shlex.split(settings["ExecStart"]), cwd=settings.get("WorkingDirectory"),
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, env=env)
    unit_path(unit, ".pid").write_text(str(process.pid))
    if notify is None:
        return 0
    try:
        return 0 if wait_for_ready(notify, process) else 1
    finally:
        notify.close()
        unit_path(unit, ".notify").unlink(missing_ok=True)


def wait_for_ready(notify: socket.socket, process: subprocess.Popen, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        notify.settimeout(0.2)
        try:
            datagram = notify.recv(4096).decode()
        except TimeoutError:
            continue
        if "READY=1" in datagram.splitlines():
            return True
    print("fake systemctl: the service exited or never sent READY=1", file=sys.stderr)
    return False


def stop(unit: str) -> None:
    pid = main_pid(unit)
    if pid:
        settings = service_settings(unit)
        os.kill(pid, getattr(signal, settings.get("KillSignal", "SIGTERM")))
        deadline = time.monotonic() + time_span(settings.get("TimeoutStopSec", "90s"))
        while main_pid(unit) and time.monotonic() < deadline:
            time.sleep(0.05)
        if main_pid(unit):
            os.kill(pid, signal.SIGKILL)


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
        return start(unit)
    elif verb == "stop":
        stop(unit)
    elif verb == "restart":
        stop(unit)
        return start(unit)
    elif verb == "reload":
        reload(unit)
    else:
        print(f"fake systemctl: {verb} is not supported", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
