"""The broker's own test suite on arm64 (64-bit Raspberry Pi OS) and armv7 (32-bit), under qemu-user in a
debootstrapped Debian bookworm chroot, so architecture bugs (word size, alignment, endianness
assumptions, platform-specific socket behaviour) show up without hardware.

The chroot runs in its own mount and network namespaces (`unshare`): its /proc, /sys, /dev and the
checkout mounted at /src vanish with the run, and the tests' servers listen on a loopback nobody else
shares. Only edgenats is tested there: the reference nats-server binary is x86 only in this checkout.
Run alone with `pytest -m qemu tests/qemu/test_qemu_user.py` (as root)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import nats
import pytest
from vm import ROOT, binfmt, build_rootfs

pytestmark = pytest.mark.qemu

# The broker's suites that need nothing but Python packages Debian ships (plus nats-py, copied in).
SUITES = ["tests/protocol", "tests/conf", "tests/auth"]
# Known incompatibility, not an architecture bug: the fuzz test counts connections with psutil's
# net_connections(), new in psutil 6, while the broker allows psutil>=5.9 and Debian bookworm ships 5.9.4.
DESELECT = ["--deselect", "tests/protocol/test_fuzz.py::test_server_survives_random_and_mutated_input[edgenats]"]
# Tests that need packages the chroot does not have (nkeys is not packaged by Debian; trustme, cryptography
# and PyNaCl are not installed there): client-port TLS, nkey and JWT logins are covered by the host's run.
NOT_IN_CHROOT = ["--ignore-glob", "tests/auth/test_tls_client_*.py", "--ignore-glob", "tests/auth/test_jwt_*.py",
                 "--ignore", "tests/auth/test_nkey_users_wire.py"]
SELECTED = "not nats-server and not nats_server and not TestNkeyUsers"
RUN_TIMEOUT = 45 * 60


def chroot_script(rootfs: Path, pylib: Path, pytest_args: list[str]) -> str:
    """Shell run inside `unshare --mount --net`: mounts for the chroot, then pytest in a clean environment."""
    env = ["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8",
           "PYTHONDONTWRITEBYTECODE=1", "PYTHONPATH=/src/server:/opt/pylib", "HYPOTHESIS_STORAGE_DIRECTORY=/root/.hyp"]
    command = ["chroot", str(rootfs), *env, "sh", "-c",
               "cd /src && exec python3 -m pytest -p no:cacheprovider -o addopts= " + shlex.join(pytest_args)]
    r = shlex.quote(str(rootfs))
    return "\n".join([
        "set -e",
        "ip link set lo up",
        f"mkdir -p {r}/src {r}/opt/pylib",
        f"mount -t proc proc {r}/proc",
        f"mount -t sysfs sysfs {r}/sys",
        f"mount --rbind /dev {r}/dev",
        f"mount --bind {shlex.quote(str(ROOT))} {r}/src",
        f"mount --bind {shlex.quote(str(pylib))} {r}/opt/pylib",
        shlex.join(command),
    ])


def run_suite(arch: str, tmp_path: Path, pytest_args: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    rootfs = build_rootfs(arch)
    pylib = tmp_path / "pylib"  # nats-py is pure Python: the host's copy serves; the rest is Debian's
    if not pylib.exists():
        shutil.copytree(Path(nats.__file__).parent, pylib / "nats", ignore=shutil.ignore_patterns("__pycache__"))
    started = time.monotonic()
    done = subprocess.run(["unshare", "--mount", "--net", "--fork", "sh", "-c",
                           chroot_script(rootfs, pylib, pytest_args)],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT)
    return done, time.monotonic() - started


@pytest.fixture
def emulated(request):
    with binfmt(request.param):
        yield request.param


@pytest.mark.parametrize("emulated, machine", [("arm64", "aarch64"), ("armhf", "armv7l")], indirect=["emulated"])
def test_broker_suite_passes_under_emulation(emulated, machine, tmp_path):
    arch = emulated
    probe, _ = run_suite(arch, tmp_path, ["--version"])
    assert probe.returncode == 0, probe.stdout + probe.stderr
    uname = subprocess.run(["unshare", "--mount", "--fork", "chroot", str(build_rootfs(arch)), "uname", "-m"],
                           capture_output=True, text=True)
    assert uname.stdout.strip() == machine, "the chroot really runs the emulated architecture"

    done, seconds = run_suite(arch, tmp_path, ["-q", "-k", SELECTED, *DESELECT, *NOT_IN_CHROOT, *SUITES])
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    print(f"[timing] {arch} broker suite under qemu-user: {seconds:.0f} s ({summary})")
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary
