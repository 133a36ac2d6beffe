"""Lame-duck mode, on both brokers: `--signal ldm=<pid>` (or SIGUSR2) makes the server stop accepting,
send every client an INFO with `"ldm": true`, close no client before `lame_duck_grace_period`, close them
all, spread out, within `lame_duck_duration`, and exit 0; a nats-py client with a second server in its
list is told (its lame-duck callback) and reconnects there.

nats-server refuses a duration under 30 s, so every close is timed from the moment the client got the
lame-duck INFO (the server sends it as the signal lands), never from a sleep.
"""

from __future__ import annotations

import asyncio
import json
import re
import selectors
import signal
import socket
import subprocess
import time

import nats
import pytest
from protocol.rawclient import RawClient
from servers import server_command

DURATION = 30.0
GRACE = 1.0
LDM_CONFIG = f'lame_duck_duration: "{DURATION:.0f}s"\nlame_duck_grace_period: "{GRACE:.0f}s"\n'
# Scheduling slack on a loaded two-core machine.
SLACK = 0.25


class Watched:
    """A connected client's socket as the watcher sees it: bytes, when the ldm INFO came, when it closed."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.data = bytearray()
        self.ldm_at: float | None = None
        self.closed_at: float | None = None

    def ldm_info(self) -> dict | None:
        for line in bytes(self.data).split(b"\r\n"):
            if line.startswith(b"INFO ") and b'"ldm":true' in line:
                return json.loads(line[5:])
        return None


def connect_clients(port: int, count: int) -> list[Watched]:
    """`count` clients logged in with protocol 1 (so they take async INFO), each past its PONG."""
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b'CONNECT {"verbose":false,"protocol":1}\r\nPING\r\n')
        socks.append(sock)
    watched = []
    for sock in socks:
        client = RawClient(sock)
        client.read_until(b"PONG\r\n")
        # The INFO nats-server sends after the first PONG to a protocol-1 client.
        client.read_until(b"\r\n")
        watched.append(Watched(sock))
    return watched


def watch_until_closed(clients: list[Watched], timeout: float) -> None:
    """Read every client until the server closes it, noting when the ldm INFO came and when it closed."""
    selector = selectors.DefaultSelector()
    for client in clients:
        client.sock.setblocking(False)
        selector.register(client.sock, selectors.EVENT_READ, client)
    deadline = time.monotonic() + timeout
    open_count = len(clients)
    while open_count and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.5):
            client: Watched = key.data
            try:
                chunk = client.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            now = time.monotonic()
            if chunk:
                client.data += chunk
                if client.ldm_at is None and b'"ldm":true' in client.data:
                    client.ldm_at = now
                continue
            client.closed_at = now
            selector.unregister(client.sock)
            client.sock.close()
            open_count -= 1
    selector.close()


def wait_for_ldm(client: Watched, timeout: float = 10.0) -> None:
    client.sock.settimeout(timeout)
    while client.ldm_info() is None:
        chunk = client.sock.recv(65536)
        assert chunk, f"closed before the lame-duck INFO; seen {bytes(client.data)!r}"
        client.data += chunk
    client.ldm_at = time.monotonic()


def send_ldm(kind: str, pid: int) -> subprocess.Popen:
    # The broker's own command line (its -a/-p flags are ignored when signalling).
    command = server_command(kind, 0, None, ["--signal", f"ldm={pid}"])
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def check_lame_duck(clients: list[Watched], running) -> None:
    signal_seen = min(client.ldm_at for client in clients if client.ldm_at is not None)
    assert all(client.ldm_at is not None for client in clients), "a client got no lame-duck INFO"
    assert all(client.closed_at is not None for client in clients), "a client was never closed"
    for client in clients:
        # Told within a moment of the first, and kept for the whole grace period.
        assert client.ldm_at - signal_seen < 1.0
        assert client.closed_at - signal_seen >= GRACE - SLACK
    assert max(client.closed_at for client in clients) - signal_seen <= DURATION + 1.0
    assert running.process.wait(timeout=15) == 0
    log = running.log_text()
    assert "Entering lame duck mode, stop accepting new clients" in log
    assert "Closing existing clients" in log


def test_ldm_signal_tells_clients_and_closes_them_after_the_grace_period(server_kind, server_factory):
    running = server_factory(server_kind, LDM_CONFIG)
    clients = connect_clients(running.port, 2)
    signaller = send_ldm(server_kind, running.pid)
    # Read while the command runs: the INFO's arrival times the grace period.
    wait_for_ldm(clients[0])
    assert (signaller.wait(30), *signaller.communicate()) == (0, "", "")
    # Once told, the port no longer accepts.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", running.port), timeout=5)
    watch_until_closed(clients, timeout=DURATION + 5)
    info = clients[0].ldm_info()
    assert info is not None and info["ldm"] is True
    assert "connect_info" not in info and info["client_ip"] == "127.0.0.1"
    assert {"server_id", "version", "max_payload", "client_id"} <= info.keys()
    check_lame_duck(clients, running)


@pytest.mark.slow
def test_ldm_closes_500_clients_spread_over_the_duration(server_kind, server_factory):
    running = server_factory(server_kind, LDM_CONFIG)
    clients = connect_clients(running.port, 500)
    running.process.send_signal(signal.SIGUSR2)
    watch_until_closed(clients, timeout=DURATION + 10)
    check_lame_duck(clients, running)
    closes = sorted(client.closed_at for client in clients)
    # Spread out, not a thundering herd: at least half the time after the grace period is used, and no
    # second sees more than three times the even share of closes.
    assert closes[-1] - closes[0] >= (DURATION - GRACE) / 2 - 1.0
    even_share = len(closes) / (DURATION - GRACE)
    busiest = max(sum(1 for other in closes if start <= other < start + 1.0) for start in closes)
    assert busiest <= 3 * even_share


async def test_ldm_nats_py_client_moves_to_the_second_server(server_kind, server_factory):
    lame = server_factory(server_kind, LDM_CONFIG)
    spare = server_factory("edgenats")
    told, moved = asyncio.Event(), asyncio.Event()

    async def lame_duck() -> None:
        told.set()

    async def reconnected() -> None:
        moved.set()

    client = await nats.connect(servers=[lame.url, spare.url], dont_randomize=True, lame_duck_mode_cb=lame_duck,
                                reconnected_cb=reconnected, reconnect_time_wait=0.1, max_reconnect_attempts=50)
    try:
        assert client.connected_url.port == lame.port
        lame.process.send_signal(signal.SIGUSR2)
        await asyncio.wait_for(told.wait(), 10)
        await asyncio.wait_for(moved.wait(), DURATION)
        assert client.connected_url.port == spare.port
        subscription = await client.subscribe("after.ldm")
        await client.publish("after.ldm", b"here")
        assert (await subscription.next_msg(timeout=5)).data == b"here"
    finally:
        await client.close()
    assert lame.process.wait(timeout=15) == 0


@pytest.mark.parametrize(("setting", "error"), [
    ('lame_duck_duration: "5s"', "invalid lame_duck_duration of 5s, minimum is 30 seconds"),
    ('lame_duck_grace_period: "-5s"', "invalid lame_duck_grace_period, needs to be positive"),
], ids=["short-duration", "negative-grace"])
def test_ldm_settings_out_of_range_are_refused(server_kind, tmp_path, setting, error):
    config = tmp_path / "ldm.conf"
    config.write_text(setting + "\n")
    result = subprocess.run(server_command(server_kind, 0, config, ["-t"]), capture_output=True, text=True,
                            timeout=30)
    assert result.returncode != 0
    assert re.search(rf"ldm\.conf:1:?\d*:? {re.escape(error)}", result.stdout + result.stderr)
