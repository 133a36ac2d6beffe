"""Back-pressure on publishers: a publisher far faster than a subscriber that keeps reading (slowly) is
slowed down instead of the subscriber being cut off; a subscriber that stops reading is cut off as a
slow consumer while another one gets every message; and, on edgenats, all outbound buffers together
stay within a budget that keeps the server under the 128 MB MemoryMax of its service unit."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
from edgenats.bench.frames import msg_header, sub_frame
from edgenats.bench.loadgen import Publisher, publish_together
from edgenats.bench.wire import Endpoint, open_connection

SUBJECT = "bp.data"
SIZE = 1024
FRAME = len(msg_header(SUBJECT, 1, SIZE)) + SIZE + 2
SERVICE_MEMORY_MAX = 128 * 1024 * 1024


class Reader(threading.Thread):
    """Reads MSG bytes until `count` messages arrived or the server closed; `pause` between reads makes
    it slower than the server can deliver."""

    def __init__(self, sock: socket.socket, count: int, pause: float) -> None:
        super().__init__(daemon=True)
        self.sock, self.expected, self.pause = sock, count * FRAME, pause
        self.received = 0
        self.closed_by_server = False

    def run(self) -> None:
        self.sock.settimeout(30)
        while self.received < self.expected:
            chunk = self.sock.recv(65536)
            if not chunk:
                self.closed_by_server = True
                return
            self.received += len(chunk)
            if self.pause:
                time.sleep(self.pause)

    @property
    def messages(self) -> int:
        return self.received // FRAME


def stalled_subscriber(endpoint: Endpoint) -> socket.socket:
    """A subscriber that never reads, with a tiny receive buffer."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((endpoint.host, endpoint.port))
    sock.sendall(b'CONNECT {"verbose":false}\r\n' + sub_frame(SUBJECT, 1) + b"PING\r\n")
    return sock


def publish(endpoint: Endpoint, publishers: int, count: int) -> None:
    socks = [open_connection(endpoint, f"bp-pub-{index}") for index in range(publishers)]
    try:
        senders = [Publisher(sock, SUBJECT, SIZE, 256 * 1024, stall_timeout_s=30) for sock in socks]
        assert publish_together(senders, count, None) == count
        for sender in senders:
            sender.settle()
    finally:
        for sock in socks:
            sock.close()


def test_a_publisher_faster_than_a_reading_subscriber_is_slowed_not_the_subscriber_cut(server_kind, server_factory):
    # 12 MB through a 1 MB max_pending: without back-pressure the slow reader would be cut off.
    server = server_factory(server_kind, "max_payload: 64KB\nmax_pending: 1MB\n")
    endpoint = Endpoint("127.0.0.1", server.port)
    count = 12_000
    with open_connection(endpoint, "bp-slow", sub_frame(SUBJECT, 1)) as slow_sock:
        reader = Reader(slow_sock, count, pause=0.001)
        reader.start()
        publish(endpoint, 1, count)
        reader.join(timeout=60)
    assert not reader.closed_by_server
    assert reader.messages == count
    assert "Slow Consumer" not in server.log_text()


def test_a_subscriber_that_stops_reading_is_cut_off_and_the_others_get_everything(server_kind, server_factory):
    server = server_factory(server_kind, "max_payload: 64KB\nmax_pending: 1MB\n")
    endpoint = Endpoint("127.0.0.1", server.port)
    count = 6_000
    with stalled_subscriber(endpoint) as stalled, open_connection(endpoint, "bp-reader", sub_frame(SUBJECT, 1)) as sock:
        reader = Reader(sock, count, pause=0)
        reader.start()
        publish(endpoint, 1, count)
        reader.join(timeout=60)
        server.wait_for_log("Slow Consumer Detected")
        stalled.settimeout(30)
        while stalled.recv(1 << 20):
            pass
    assert reader.messages == count and not reader.closed_by_server


@pytest.mark.parametrize("publishers", [1, 10], ids=["slow-consumers", "fan-in"])
def test_edgenats_stays_under_its_service_memory_limit_with_stalled_subscribers(server_factory, publishers):
    # Five subscribers that never read would each hold up to max_pending (64 MB by default): 320 MB
    # without a budget for all outbound buffers together. The write deadline cuts them off.
    server = server_factory("edgenats", 'write_deadline: "1s"\n')
    endpoint = Endpoint("127.0.0.1", server.port)
    count = 24_000
    stalled = [stalled_subscriber(endpoint) for _ in range(5)]
    try:
        with open_connection(endpoint, "bp-reader", sub_frame(SUBJECT, 1)) as sock:
            reader = Reader(sock, count, pause=0)
            reader.start()
            publish(endpoint, publishers, count)
            reader.join(timeout=60)
        assert reader.messages == count and not reader.closed_by_server
    finally:
        for sock in stalled:
            sock.close()
    peak = peak_rss(server.pid)
    assert peak < SERVICE_MEMORY_MAX, f"peak RSS {peak / 2**20:.0f} MiB"


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")
