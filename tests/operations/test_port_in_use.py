"""A port that is taken: edgenats-server says which listener, which address and port, why, and which
setting chooses another, in one line (nats-server: `Error listening on port: 127.0.0.1:4222, "listen tcp
...: bind: address already in use"`); both servers exit non-zero."""

from __future__ import annotations

import json
import re
import socket
import subprocess

import pytest
from servers import server_command

IN_USE = "the address is already in use (is another server listening there?)"


def _run(kind: str, tmp_path, *args: str) -> subprocess.CompletedProcess:
    command = server_command(kind, 0, None, list(args))
    # server_command puts `-a 127.0.0.1 -p 0` in; the arguments given after it win.
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=30)


@pytest.fixture
def taken_port():
    holder = socket.create_server(("127.0.0.1", 0))
    yield holder.getsockname()[1]
    holder.close()


def test_a_taken_client_port_names_the_listener_and_the_flag(server_kind, tmp_path, taken_port):
    done = _run(server_kind, tmp_path, "-p", str(taken_port))

    assert done.returncode != 0
    output = done.stdout + done.stderr
    if server_kind == "nats-server":
        assert f"127.0.0.1:{taken_port}" in output and "address already in use" in output
        return
    assert done.stderr.strip().endswith(
        f"edgenats-server: cannot listen for client connections on 127.0.0.1:{taken_port}: {IN_USE}; "
        "choose another port with -p PORT or `port` in the config")
    assert "Traceback" not in output


def test_a_taken_monitoring_port_names_its_own_flag(server_kind, tmp_path, taken_port):
    done = _run(server_kind, tmp_path, "-p", "-1", "-m", str(taken_port))

    assert done.returncode != 0
    if server_kind == "edgenats":
        assert done.stderr.strip().endswith(
            f"cannot listen for monitoring on 127.0.0.1:{taken_port}: {IN_USE}; "
            "choose another port with -m PORT or `http_port` in the config")


def test_port_minus_one_is_a_port_the_system_picks_reported_in_info(server_kind, tmp_path):
    process = subprocess.Popen(server_command(server_kind, -1, None, []), cwd=tmp_path, stderr=subprocess.PIPE,
                               text=True)
    try:
        for line in process.stderr:
            listening = re.search(r"Listening for client connections on 127\.0\.0\.1:(\d+)", line)
            if listening:
                break
        port = int(listening[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            info = json.loads(client.makefile("rb").readline().removeprefix(b"INFO "))
        assert port > 0 and info["port"] == port
    finally:
        process.kill()
        process.wait()
