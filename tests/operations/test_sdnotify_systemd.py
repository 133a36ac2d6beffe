"""systemd's notify protocol, against a real NOTIFY_SOCKET the test binds (edgenats only: nats-server has
no sd_notify): READY=1 once the client port accepts, RELOADING=1 then READY=1 around a SIGHUP reload,
WATCHDOG=1 every half of WATCHDOG_USEC from the event loop (they stop while the process is stopped with
SIGSTOP, as they would if its loop blocked, and come back after SIGCONT), STOPPING=1 at SIGTERM and
when lame duck begins.
"""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest

WATCHDOG_USEC = 200_000


class NotifySocket:
    """The datagram socket systemd would listen on; collects what the broker sends."""

    def __init__(self, address: str | bytes) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)

    def next(self, timeout: float = 10.0) -> dict[str, str]:
        self.sock.settimeout(timeout)
        datagram = self.sock.recv(4096).decode()
        return dict(line.split("=", 1) for line in datagram.splitlines())

    def next_with(self, key: str, timeout: float = 10.0) -> tuple[dict[str, str], list[dict[str, str]]]:
        """The next datagram carrying `key`, and the ones before it."""
        deadline = time.monotonic() + timeout
        skipped = []
        while True:
            fields = self.next(max(deadline - time.monotonic(), 0.001))
            if key in fields:
                return fields, skipped
            skipped.append(fields)

    def drain(self) -> None:
        self.sock.setblocking(False)
        try:
            while self.sock.recv(4096):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def notify_socket(tmp_path):
    sock = NotifySocket(str(tmp_path / "notify.sock"))
    yield sock
    sock.close()


def test_ready_reload_and_stopping(notify_socket, server_factory, tmp_path):
    running = server_factory("edgenats", "max_payload: 1024\n",
                             env={"NOTIFY_SOCKET": str(tmp_path / "notify.sock")})
    ready, before = notify_socket.next_with("READY")
    assert before == []
    assert ready["READY"] == "1" and "Accepting client connections" in ready["STATUS"]
    # READY came once the port accepts: a client connects at once.
    socket.create_connection(("127.0.0.1", running.port), timeout=5).close()
    running.process.send_signal(signal.SIGHUP)
    assert notify_socket.next()["RELOADING"] == "1"
    assert notify_socket.next()["READY"] == "1"
    running.process.send_signal(signal.SIGTERM)
    stopping, _ = notify_socket.next_with("STOPPING")
    assert stopping["STOPPING"] == "1"
    assert running.process.wait(timeout=15) == 0


def test_lame_duck_says_stopping(notify_socket, server_factory, tmp_path):
    running = server_factory("edgenats", env={"NOTIFY_SOCKET": str(tmp_path / "notify.sock")})
    notify_socket.next_with("READY")
    running.process.send_signal(signal.SIGUSR2)
    stopping, _ = notify_socket.next_with("STOPPING")
    assert stopping["STATUS"].startswith("Lame duck mode")
    assert running.process.wait(timeout=15) == 0


def test_watchdog_pings_stop_while_the_process_is_stopped(server_factory):
    name = f"edgenats-notify-{os.getpid()}-{time.monotonic_ns()}"
    notify = NotifySocket(b"\0" + name.encode())
    try:
        running = server_factory("edgenats", env={"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": str(WATCHDOG_USEC)})
        notify.next_with("READY")
        started = time.monotonic()
        for _ in range(3):
            assert notify.next_with("WATCHDOG")[0]["WATCHDOG"] == "1"
        # Every half of WATCHDOG_USEC: three pings in well under three whole intervals.
        assert time.monotonic() - started < 3 * WATCHDOG_USEC / 1e6
        running.process.send_signal(signal.SIGSTOP)
        try:
            # A ping sent just before the stop may still be queued; after it, silence.
            notify.drain()
            with pytest.raises(TimeoutError):
                notify.next(timeout=4 * WATCHDOG_USEC / 1e6)
        finally:
            running.process.send_signal(signal.SIGCONT)
        assert notify.next_with("WATCHDOG", timeout=5)[0]["WATCHDOG"] == "1"
    finally:
        notify.close()
