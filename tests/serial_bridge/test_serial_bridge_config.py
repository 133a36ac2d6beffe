"""`edgenats-serial --config FILE` refuses a config it cannot use whole: every problem listed, exit status 1,
before it connects anywhere; without pyserial it says what to install, in one line."""

from __future__ import annotations

import json
import subprocess
import sys

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


def test_without_pyserial_the_bridge_names_the_extra(tmp_path):
    config = tmp_path / "serial.json"
    config.write_text(json.dumps({"site": "site1", "node": "pi1", "ports": [{"path": "/dev/ttyACM0"}]}))
    hide_pyserial = ("import sys, runpy; sys.modules['serial'] = None; "
                     "runpy.run_module('edgenats.serial_bridge.main', run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", hide_pyserial, "--config", str(config)], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 1
    assert done.stderr == "edgenats-serial: pyserial is not installed: pip install 'edgenats[serial]'\n"
