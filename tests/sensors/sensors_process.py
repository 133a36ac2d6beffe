"""Run the real sensor service (`python -m edgenats.sensors`, as `edgenats-sensors`) for the tests: its
config written from a dict, its log lines awaited, stopped by its own pid."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path


def sensors_config(url: str, sensors: list[dict], **settings) -> dict:
    """A config for site1/pi1 on the broker at `url`."""
    return {"servers": [url], "site": "site1", "node": "pi1", "sensors": sensors, **settings}


class SensorService:
    def __init__(self, folder: Path, config: dict) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.config_path = folder / "sensors.json"
        self.config_path.write_text(json.dumps(config))
        self.log_path = folder / "sensors.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "edgenats.sensors", "--config",
                                             str(self.config_path)], stdout=log, stderr=subprocess.STDOUT)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, pattern: str, timeout: float = 10.0) -> re.Match:
        """The first match of regex `pattern` in the service's output, once it is written."""
        deadline = time.monotonic() + timeout
        while (found := re.search(pattern, self.log_text(), re.MULTILINE)) is None:
            if self.process.poll() is not None:
                raise AssertionError(f"the service exited ({self.process.returncode}):\n{self.log_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not logged within {timeout}s:\n{self.log_text()}")
            time.sleep(0.02)
        return found

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode
