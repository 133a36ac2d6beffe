"""The serial bridge as its own process for the firmware tests: `edgenats-serial --config FILE` (run as
`python -m edgenats.serial_bridge.main`, the console script's module), its log in a file, stopped by its pid."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BRIDGE = [sys.executable, "-m", "edgenats.serial_bridge.main"]


class BridgeProcess:
    def __init__(self, folder: Path, servers: list[str], ports: list[str], stream: str = "auto",
                 site: str = "site1", node: str = "pi1"):
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "serial.json"
        self.config.write_text(json.dumps({"servers": servers, "site": site, "node": node, "stream": stream,
                                           "ports": [{"path": p, "baud": 115200} for p in ports]}))
        self.log = folder / "bridge.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([*BRIDGE, "--config", str(self.config), "--log-level", "debug"],
                                            stdout=log, stderr=subprocess.STDOUT)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
