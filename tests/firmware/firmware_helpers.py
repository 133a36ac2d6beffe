"""Firmware test helpers: the device CLI run as a process, as a user runs it, and per-device config files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def device_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m edgenats.device ARGS`, as a user would run it."""
    return subprocess.run([sys.executable, "-m", "edgenats.device", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def write_config(path: Path, **settings) -> Path:
    path.write_text(json.dumps(settings))
    return path
