"""The mip package files: package.json lists every module; the build writes one .mpy per module."""

from __future__ import annotations

import json

from unats_helpers import CLIENT


def modules() -> set[str]:
    return {path.stem for path in (CLIENT / "unats").glob("*.py")}


def test_package_json_lists_every_module():
    urls = json.loads((CLIENT / "package.json").read_text())["urls"]
    assert {dest for dest, _ in urls} == {f"unats/{name}.py" for name in modules()}
    assert all((CLIENT / src).is_file() for _, src in urls)


def test_build_writes_an_mpy_per_module_and_its_package_json(mpy_build):
    urls = json.loads((mpy_build / "package.json").read_text())["urls"]
    assert {dest for dest, _ in urls} == {f"unats/{name}.mpy" for name in modules()}
    assert all((mpy_build / src).stat().st_size > 0 for _, src in urls)
