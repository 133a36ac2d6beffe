"""Reading what the sensors and serial_bridge roles write and do: a systemd unit's directives, a udev
rules file's rules, a task's status and the handlers a play notified."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def unit_directives(text: str) -> dict[str, list[str]]:
    """'[Section] Key' -> its values, in order (comments and blank lines left out)."""
    found: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        if line.startswith("[") and line.endswith("]"):
            section = line
        elif line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found.setdefault(f"{section} {key}", []).append(value)
    return found


def udev_rules(text: str) -> list[list[tuple[str, str, str]]]:
    """Each rule (a line that is not a comment) as its (key, operator, value) assignments and matches."""
    pattern = re.compile(r'\s*([A-Z_]+(?:\{[^}]+\})?)\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"\s*,?')
    rules = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            parts = pattern.findall(line)
            assert "".join(pattern.sub("", line)).strip() == "", f"not a udev rule: {line!r}"
            rules.append(parts)
    return rules


def task_status(done: subprocess.CompletedProcess, role: str, task: str) -> str:
    """What a task reported for localhost: ok, changed, skipping or failed."""
    banner = f"TASK [{role} : {task}]"
    assert banner in done.stdout, f"{banner} did not run:\n{done.stdout[-3000:]}"
    return done.stdout.split(banner)[1].lstrip("* \n").split(":")[0]


def notified(done: subprocess.CompletedProcess) -> set[str]:
    """The handlers the play ran (with manage_service false they report `skipping`, but were notified)."""
    return set(re.findall(r"^RUNNING HANDLER \[(.+?)\]", done.stdout, re.MULTILINE))


def systemd_complaints(play, unit: str, program: Path) -> list[str]:
    """What `systemd-analyze verify` says of a unit the play wrote under /etc/systemd/system, run where the
    play ran (its users exist there), leaving out only that the unit's program is missing while the
    service's package is not installed in this virtualenv yet."""
    verify = play.inside("systemd-analyze", "verify", f"/etc/systemd/system/{unit}")
    missing = f"{unit}: Command {program} is not executable: No such file or directory"
    return [line for line in verify.stderr.splitlines()
            if line.strip() and not (line == missing and not program.exists())]
