"""`edgenats-serial --config FILE` refuses a config it cannot use whole: every problem listed, exit status 1,
before it connects anywhere."""

from __future__ import annotations

import json
import subprocess

from serial_bridge_process import BRIDGE


def test_a_bad_config_is_refused_with_every_problem(tmp_path):
    config = tmp_path / "serial.json"
    config.write_text(json.dumps({"site": "site 1", "stream": "sometimes", "user": "pi", "colour": "red",
                                  "ports": [{"path": "/dev/ttyACM0", "baud": "fast"}, {"baud": 9600},
                                            {"path": "/dev/ttyACM1", "parity": "E"}]}))
    done = subprocess.run([*BRIDGE, "--config", str(config)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and done.stdout == ""
    for problem in ("colour: unknown setting", "site: required, one subject token", "node: required",
                    "user and password: give both or neither", "stream: one of auto, always, never, not 'sometimes'",
                    "ports[0].baud: a positive number", "ports[1].path: required",
                    "ports[2].parity: unknown setting"):
        assert problem in done.stderr
    (tmp_path / "broken.json").write_text("{not json")
    done = subprocess.run([*BRIDGE, "--config", str(tmp_path / "broken.json")], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 1 and "broken.json: Expecting property name" in done.stderr
