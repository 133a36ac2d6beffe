"""Running ansible-playbook and ansible-lint from the tests: the repository's ansible/ folder and its
config, the tools of this interpreter's virtualenv, plays on this machine made of role steps, a play's
recap line, and the service account the role's files are owned by here (the user running the tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE = ROOT / "ansible"
BIN = Path(sys.executable).parent


def local_play(name: str, *steps: str) -> str:
    """A play on localhost that includes each step in order: `role` (the whole role) or
    `role/tasks.yml` (that task file of the role)."""
    tasks = []
    for step in steps:
        role, _, tasks_from = step.partition("/")
        if tasks_from:
            title = f"{tasks_from.removesuffix('.yml').capitalize()} step of the {role} role"
            include = f"        name: {role}\n        tasks_from: {tasks_from}\n"
        else:
            title = f"{role.replace('_', ' ').capitalize()} role"
            include = f"        name: {role}\n"
        tasks.append(f"    - name: {title}\n      ansible.builtin.include_role:\n{include}")
    return (f"\n- name: {name}\n  hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
            + "".join(tasks))


def ansible_env() -> dict:
    return dict(os.environ, ANSIBLE_CONFIG=str(ANSIBLE / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                ANSIBLE_LINT_SKIP_SCHEMA_UPDATE="1", PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")


def run(*command: str, cwd: Path = ANSIBLE, timeout: float = 300, env: dict | None = None
        ) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env or ansible_env(), capture_output=True, text=True,
                          timeout=timeout)


def recap(done: subprocess.CompletedProcess) -> str:
    return next(line for line in done.stdout.splitlines() if line.startswith("localhost "))


def service_account() -> dict:
    """The role's user and group variables set to whoever runs the tests."""
    user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    group = subprocess.run(["id", "-gn"], capture_output=True, text=True).stdout.strip()
    return {"edgenats_user": user, "edgenats_group": group}
