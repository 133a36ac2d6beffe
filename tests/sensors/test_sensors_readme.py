"""The README's "Sensors on the Pi" section as a user copies it: its config example is a config the
service takes, and the extra it installs is the one pyproject declares with the drivers the registry
names."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from edgenats.sensors.config import parse_config
from edgenats.sensors.drivers import DRIVERS

ROOT = Path(__file__).resolve().parents[2]
SECTION = (ROOT / "README.md").read_text().split("## Sensors on the Pi\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_config_is_one_the_service_takes():
    example = re.search(r"```json\n(.*?)```", SECTION, re.DOTALL)[1]
    config = parse_config(json.loads(example))
    assert [(s.name, s.type, s.bus, s.address, s.subject) for s in config.sensors] == [
        ("greenhouse", "bme280", 1, 0x76, "site1.pi1.greenhouse"), ("shed", "sht31", 1, 0x44, "site1.pi1.shed")]
    # The commands the section shows go to this service's endpoints.
    assert re.findall(r"edgenats request (\S+)\.(?:read-now|set-interval) ", SECTION) == [config.command_prefix] * 2


def test_the_sensors_extra_is_the_one_the_readme_installs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extra = {re.split(r"[<>=]", req)[0] for req in project["optional-dependencies"]["sensors"]}
    assert extra == {"adafruit-blinka", "adafruit-circuitpython-bme280", "adafruit-circuitpython-sht31d"}
    assert extra <= {re.split(r"[<>=]", req)[0] for req in project["optional-dependencies"]["test"]}
    assert project["scripts"]["edgenats-sensors"] == "edgenats.sensors.main:main"
    assert "pip install -e '.[sensors]'" in SECTION
    assert set(DRIVERS) == {"bme280", "sht31"} and all(f"`{name}`" in SECTION for name in DRIVERS)
