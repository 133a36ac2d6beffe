"""The emulated edge node for the end-to-end tests: build (or reuse) the image, boot it with QEMU on
OS-chosen 127.0.0.1 ports, reach it over SSH, and stop it by the pid QEMU wrote."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from servers import free_port

ROOT = Path(__file__).resolve().parents[2]
QEMU_DIR = ROOT / "qemu"
BUILD_TIMEOUT = 60 * 60
BOOT_TIMEOUT = 300


def build_image() -> Path:
    """The cached image folder; built by qemu/build-image.sh when missing (needs root)."""
    done = subprocess.run([str(QEMU_DIR / "build-image.sh")], capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"qemu/build-image.sh failed:\n{done.stderr[-4000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def build_rootfs(arch: str) -> Path:
    """The cached root filesystem for qemu-user runs; built by qemu/build-rootfs.sh when missing."""
    done = subprocess.run([str(QEMU_DIR / "build-rootfs.sh"), arch], capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"qemu/build-rootfs.sh {arch} failed:\n{done.stderr[-4000:]}")
    return Path(done.stdout.strip().splitlines()[-1]) / "rootfs"


BINFMT = Path("/proc/sys/fs/binfmt_misc")
QEMU_USER = {"arm64": "qemu-aarch64", "armhf": "qemu-arm"}


@contextlib.contextmanager
def binfmt(arch: str):
    """qemu-user registered for the architecture while the block runs (unregistered after, if we did it):
    without it only the first process of the chroot would be emulated."""
    name = QEMU_USER[arch]
    if not (BINFMT / "register").exists():
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], check=True)
    registered = not (BINFMT / name).exists()
    if registered:
        rule = next(line for line in Path(f"/usr/lib/binfmt.d/{name}.conf").read_text().splitlines()
                    if line and not line.startswith("#"))
        (BINFMT / "register").write_text(rule)
    try:
        yield
    finally:
        if registered:
            (BINFMT / name).write_text("-1")


@dataclass
class EdgeVM:
    image: Path
    run_dir: Path
    hub_port: int | None = None
    qemu_args: list[str] = field(default_factory=list)  # more devices, after boot-vm.sh's "--"

    def __post_init__(self):
        self.ssh_port = free_port()
        self.nats_port = free_port()
        self.key = self.image / "id_ed25519"

    @property
    def pidfile(self) -> Path:
        return self.run_dir / "qemu.pid"

    def boot(self) -> float:
        """Start QEMU and wait for SSH; return the seconds it took."""
        start = time.monotonic()
        args = [str(QEMU_DIR / "boot-vm.sh"), str(self.image), str(self.run_dir), str(self.ssh_port),
                str(self.nats_port)]
        if self.hub_port:
            args.append(str(self.hub_port))
        if self.qemu_args:
            args += ["--", *self.qemu_args]
        started = subprocess.run(args, capture_output=True, text=True, timeout=60)
        if started.returncode != 0:
            raise RuntimeError(started.stderr.strip())
        self.wait_for_ssh()
        return time.monotonic() - start

    def ssh_command(self, command: str) -> list[str]:
        return ["ssh", "-q", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-i", str(self.key), "-p", str(self.ssh_port),
                "pi@127.0.0.1", command]

    def ssh(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(self.ssh_command(command), capture_output=True, text=True, timeout=timeout)

    def copy_in(self, folder: Path, dest: str, timeout: float = 300) -> None:
        """Copy a host folder's files into the guest's `dest` folder (tar over SSH)."""
        packed = subprocess.run(["tar", "-C", str(folder), "-c", "."], capture_output=True, check=True).stdout
        done = subprocess.run(self.ssh_command(f"mkdir -p {dest} && tar -C {dest} -x"), input=packed,
                              capture_output=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"copying {folder} into the guest failed: {done.stderr.decode(errors='replace')}")

    def wait_for_ssh(self, timeout: float = BOOT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"QEMU exited:\n{self.console()[-3000:]}")
            try:
                if self.ssh("true", timeout=30).returncode == 0:
                    return
            except subprocess.TimeoutExpired:
                pass
            time.sleep(2)
        raise RuntimeError(f"no SSH within {timeout}s:\n{self.console()[-3000:]}")

    def reboot(self) -> float:
        """Reboot the guest and wait until SSH answers again; return the seconds it took."""
        start = time.monotonic()
        self.ssh("sudo systemctl reboot", timeout=30)
        deadline = time.monotonic() + BOOT_TIMEOUT
        while time.monotonic() < deadline and self.ssh("true", timeout=30).returncode == 0:
            time.sleep(1)  # still up: the reboot has not reached sshd yet
        self.wait_for_ssh()
        return time.monotonic() - start

    def running(self) -> bool:
        try:
            os.kill(int(self.pidfile.read_text()), 0)
        except (OSError, ValueError):
            return False
        return True

    def console(self) -> str:
        path = self.run_dir / "console.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self):
        if not self.pidfile.exists():
            return
        pid = int(self.pidfile.read_text())
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 20
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.running():
            os.kill(pid, signal.SIGKILL)

    def inventory(self, path: Path, **host_vars) -> Path:
        """An Ansible inventory with this VM as the only host of the `edge` group."""
        lines = ["edge:", "  hosts:", "    edge-vm:", "      ansible_host: 127.0.0.1",
                 f"      ansible_port: {self.ssh_port}", "      ansible_user: pi",
                 f"      ansible_ssh_private_key_file: {self.key}",
                 "      ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
                 "      ansible_python_interpreter: /usr/bin/python3"]
        lines += [f"      {name}: {value}" for name, value in host_vars.items()]
        path.write_text("\n".join(lines) + "\n")
        return path
