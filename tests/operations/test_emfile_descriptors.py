"""Out of file descriptors, on both brokers: with RLIMIT_NOFILE lowered under the running broker, clients
keep connecting past the limit. The broker logs the accept error a few times (not once per attempt),
stays nearly idle, and serves clients again once descriptors are free. edgenats also refuses the
connections it cannot take at once (the client sees the connection closed instead of waiting in the
kernel's queue) and says how many it refused.
"""

from __future__ import annotations

import resource
import socket
import time

import psutil
from servers import RunningServer

DESCRIPTORS = 64
WINDOW = 1.5
ATTEMPT_EVERY = 0.01


def wait_for_log(running: RunningServer, text: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in running.log_text():
        assert time.monotonic() < deadline, f"{text!r} not logged within {timeout}s"
        time.sleep(0.02)


def got_info(sock: socket.socket, timeout: float) -> bool:
    sock.settimeout(timeout)
    try:
        return sock.recv(4096).startswith(b"INFO ")
    except (TimeoutError, ConnectionResetError):
        return False


def test_out_of_descriptors_is_logged_a_few_times_and_survived(server_kind, server_factory):
    running = server_factory(server_kind)
    resource.prlimit(running.pid, resource.RLIMIT_NOFILE, (DESCRIPTORS, DESCRIPTORS))
    held = [socket.create_connection(("127.0.0.1", running.port), timeout=5) for _ in range(2 * DESCRIPTORS)]
    wait_for_log(running, "Temporary Client Accept Error")
    process = psutil.Process(running.pid)
    cpu_before = sum(process.cpu_times()[:2])
    # Clients keep trying, as devices do.
    deadline = time.monotonic() + WINDOW
    while time.monotonic() < deadline:
        held.append(socket.create_connection(("127.0.0.1", running.port), timeout=5))
        time.sleep(ATTEMPT_EVERY)
    cpu_used = sum(process.cpu_times()[:2]) - cpu_before
    errors = [line for line in running.log_text().splitlines() if "Accept Error" in line]
    # nats-server logs each retry of its back-off (10 ms doubling up to 1 s: eight lines in the first
    # second, then one a second), edgenats once then every 10 s; neither one line per attempt.
    assert 1 <= len(errors) <= 8 + WINDOW + 2, errors
    assert len(held) > 5 * len(errors)
    assert cpu_used < WINDOW / 2, f"{cpu_used:.2f}s of CPU in {WINDOW}s"
    if server_kind == "edgenats":
        # Refused at once: the connections over the limit were closed without an INFO.
        assert sum(1 for sock in held[-20:] if not got_info(sock, 2.0)) == 20
    for sock in held:
        sock.close()
    deadline = time.monotonic() + 15
    while True:
        with socket.create_connection(("127.0.0.1", running.port), timeout=5) as sock:
            if got_info(sock, 1.0):
                break
        assert time.monotonic() < deadline, "no INFO after the descriptors were freed"
    if server_kind == "edgenats":
        wait_for_log(running, "Client accept resumed:")
        assert "connections refused" in running.log_text()
