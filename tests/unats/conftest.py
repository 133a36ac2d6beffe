"""Fixtures for the unats tests: the client compiled with mpy-cross, and device scripts run as real processes.

A device script (tests/unats/device/*.py) runs under the MicroPython Unix port with a small heap, using the
precompiled .mpy modules, or under CPython with the unats sources; the test talks to it over NATS (nats-py
as the peer) and reads the lines it prints. MicroPython runs in a folder of its own holding the scripts and
the modules (`lib/`), reached by short relative paths, and the script runs as a module (`-m`): the paths a
device holds (on its sys.path) take heap, so with absolute ones whether a script fits a small heap would
depend on where the clone and the temporary folder are.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from unats_helpers import CLIENT

DEVICE = Path(__file__).parent / "device"
MICROPYTHON = Path(sys.executable).parent / "micropython"
RUNTIMES = ("micropython", "cpython")


@pytest.fixture(scope="session")
def mpy_build(tmp_path_factory) -> Path:
    """The unats package compiled to .mpy by micropython_client/build.py."""
    out = tmp_path_factory.mktemp("mpy")
    subprocess.run([sys.executable, str(CLIENT / "build.py"), str(out)], check=True, capture_output=True)
    return out


@pytest.fixture(scope="session")
def device_folder(mpy_build, tmp_path_factory) -> Path:
    """Where MicroPython devices run: the device scripts, and the compiled client in lib/."""
    folder = tmp_path_factory.mktemp("device")
    shutil.copytree(mpy_build, folder / "lib")
    for script in DEVICE.glob("*.py"):
        shutil.copy(script, folder)
    return folder


@pytest.fixture(params=RUNTIMES)
def runtime(request) -> str:
    return request.param


class Device:
    """A running device script: read its printed lines, write lines to its stdin."""

    def __init__(self, process: asyncio.subprocess.Process):
        self.process = process
        self.lines: list[str] = []

    async def expect(self, prefix: str, timeout: float = 15.0) -> str:
        """Return the next printed line starting with prefix; fail with the whole output otherwise."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    raw = await self.process.stdout.readline()
                    if not raw:
                        break
                    line = raw.decode(errors="replace").rstrip("\n")
                    self.lines.append(line)
                    if line.startswith(prefix):
                        return line
        except TimeoutError:
            pass
        output = "\n".join(self.lines)
        raise AssertionError(f"device did not print {prefix!r}; output so far:\n{output}")

    async def send(self, line: str) -> None:
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def finish(self, timeout: float = 15.0) -> str:
        """Wait for the script to exit successfully; return everything it printed."""
        rest, _ = await asyncio.wait_for(self.process.communicate(), timeout)
        self.lines += rest.decode(errors="replace").splitlines()
        output = "\n".join(self.lines)
        assert self.process.returncode == 0, f"device exited with {self.process.returncode}:\n{output}"
        return output


def device_command(runtime: str, script: str, args, heap: str, device_folder: Path) -> tuple[list[str], dict]:
    """The command and environment of a device; MicroPython's runs in `device_folder`."""
    env = dict(os.environ)
    if runtime == "micropython":
        env["MICROPYPATH"] = ".frozen:lib"
        # Run as a module (-m), not as a file: MicroPython puts a script file's real path first on sys.path,
        # a string that the heap holds; a module's entry there is "" (the current folder) wherever it is.
        module = script.removesuffix(".py")
        return [str(MICROPYTHON), "-X", f"heapsize={heap}", "-m", module, *map(str, args)], env
    env["PYTHONPATH"] = f"{CLIENT}{os.pathsep}{DEVICE}"
    return [sys.executable, "-u", str(DEVICE / script), *map(str, args)], env


@pytest.fixture
async def start_device(runtime, device_folder):
    """start_device(script, *args, heap="32K") -> Device; every process is stopped by its pid at teardown."""
    started: list[asyncio.subprocess.Process] = []

    async def start(script: str, *args, heap: str = "32K", kind: str | None = None) -> Device:
        command, env = device_command(kind or runtime, script, args, heap, device_folder)
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, env=env, cwd=device_folder,
        )
        started.append(process)
        return Device(process)

    yield start
    for process in started:
        if process.returncode is None:
            process.kill()
            await process.wait()
