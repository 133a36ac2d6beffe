"""qemu/boot-vm.sh on its own, without the real image: QEMU starts with what a
--no-install-recommends install of qemu-system-arm brings (no option ROM package), and when QEMU
refuses to start, the script repeats QEMU's own error line instead of a bare exit status; arguments
after "--" go to QEMU as they are."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from servers import free_port
from vm import QEMU_DIR, EdgeVM

pytestmark = pytest.mark.qemu


def fake_image(folder: Path, kernel: bool) -> Path:
    """An image folder with a tiny blank disk and, if asked, an empty kernel file (QEMU loads it and
    the guest CPU finds nothing to run, which is enough to show the machine was built)."""
    folder.mkdir()
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(folder / "disk.qcow2"), "1M"], check=True)
    (folder / "initrd.img").write_bytes(b"")
    if kernel:
        (folder / "vmlinuz").write_bytes(b"")
    return folder


def boot(image: Path, run: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(QEMU_DIR / "boot-vm.sh"), str(image), str(run), str(free_port()), str(free_port())],
                          capture_output=True, text=True, timeout=60)


def test_the_machine_starts_without_a_nic_option_rom(tmp_path):
    vm = EdgeVM(image=fake_image(tmp_path / "image", kernel=True), run_dir=tmp_path / "run")
    started = boot(vm.image, vm.run_dir)
    try:
        assert started.returncode == 0, started.stderr
        assert vm.running()
    finally:
        if vm.pidfile.exists():
            os.kill(int(vm.pidfile.read_text()), signal.SIGKILL)


def test_a_machine_that_cannot_start_reports_qemus_own_error(tmp_path):
    started = boot(fake_image(tmp_path / "image", kernel=False), tmp_path / "run")
    assert started.returncode != 0
    lines = started.stderr.splitlines()
    assert lines[0] == "boot-vm.sh: QEMU did not start:"
    assert any(line.startswith("qemu-system-aarch64:") and "vmlinuz" in line for line in lines[1:]), started.stderr


def test_arguments_after_a_double_dash_reach_qemu(tmp_path):
    image, run = fake_image(tmp_path / "image", kernel=True), tmp_path / "run"
    started = subprocess.run([str(QEMU_DIR / "boot-vm.sh"), str(image), str(run), str(free_port()), str(free_port()),
                              "--", "-device", "no-such-device-here"], capture_output=True, text=True, timeout=60)
    assert started.returncode != 0
    assert "no-such-device-here" in started.stderr, started.stderr
