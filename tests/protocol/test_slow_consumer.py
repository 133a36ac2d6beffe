"""Slow consumers (spec §12.3, §18.20): a subscriber that stops reading is cut off once its pending
output passes max_pending, without blocking the publisher or other subscribers and without the
server's memory growing with the published volume.

One scenario per server kind feeds three tests: 64 MiB are published while one subscriber (tiny
receive buffer) never reads and another reads everything. A server that buffered the stalled
subscriber's backlog would grow by about the published volume, so the RSS bound (start + 32 MiB)
proves boundedness while leaving room for allocator noise and the kernel-side socket buffers.
A last test covers the other cut-off (spec §12.2): a write blocked past write_deadline.
"""

from __future__ import annotations

import time

import psutil
import pytest
from rawclient import RawClient
from servers import start_server

CONFIG = "max_payload: 64KB\nmax_pending: 256KB\n"
PAYLOAD_SIZE = 16 * 1024
# The reader is sent at most 128 KiB at a time so that it can never be a slow consumer itself.
MESSAGES_PER_BATCH = 8
TOTAL_BYTES = 64 * 1024 * 1024
RSS_MARGIN = 32 * 1024 * 1024
# What the stalled subscriber may still drain after being cut off: kernel buffers plus max_pending.
STALLED_DRAIN_LIMIT = 16 * 1024 * 1024


def _run_scenario(kind: str, workdir) -> dict:
    running = start_server(kind, workdir, CONFIG)
    try:
        process = psutil.Process(running.pid)
        stalled = RawClient.connect(running.port, rcvbuf=4096)
        stalled.send(b'CONNECT {"verbose":false}\r\nSUB big 1\r\n')
        assert stalled.fence() == b""
        reader = RawClient.handshake(running.port)
        reader.send(b"SUB big 1\r\n")
        assert reader.fence() == b""
        publisher = RawClient.handshake(running.port)

        payload = bytes(range(256)) * (PAYLOAD_SIZE // 256)
        batch = (b"PUB big %d\r\n%s\r\n" % (PAYLOAD_SIZE, payload)) * MESSAGES_PER_BATCH
        rss_before = process.memory_info().rss
        rss_peak = rss_before
        delivered = 0
        for index in range(TOTAL_BYTES // (PAYLOAD_SIZE * MESSAGES_PER_BATCH)):
            publisher.send(batch)
            messages = reader.read_messages(MESSAGES_PER_BATCH, timeout=30)
            if any(message.payload != payload for message in messages):
                break
            delivered += MESSAGES_PER_BATCH
            if index % 16 == 0:
                rss_peak = max(rss_peak, process.memory_info().rss)
        rss_peak = max(rss_peak, process.memory_info().rss)
        # The publisher may have been sent keepalive PINGs; any reply up to our PONG is fine.
        publisher.send(b"PING\r\n")
        publisher_alive = b"-ERR" not in publisher.read_until(b"PONG\r\n", timeout=30)

        stalled_error = None
        try:
            stalled.read_until_eof(timeout=30, limit=STALLED_DRAIN_LIMIT)
        except AssertionError as error:
            stalled_error = str(error)
        for client in (stalled, reader, publisher):
            client.close()
        return {
            "expected_messages": TOTAL_BYTES // PAYLOAD_SIZE,
            "delivered": delivered,
            "publisher_alive": publisher_alive,
            "rss_before": rss_before,
            "rss_peak": rss_peak,
            "stalled_error": stalled_error,
            "server_alive": running.process.poll() is None,
        }
    finally:
        running.stop()


@pytest.fixture(scope="module")
def scenario_results(tmp_path_factory):
    """Runs the scenario once per server kind, on first use; a failed run fails all three tests."""
    results: dict[str, dict | Exception] = {}

    def get(kind: str) -> dict:
        if kind not in results:
            try:
                results[kind] = _run_scenario(kind, tmp_path_factory.mktemp("slow"))
            except Exception as error:
                results[kind] = error
        if isinstance(results[kind], Exception):
            raise results[kind]
        return results[kind]

    return get


@pytest.fixture
def scenario(server_kind, scenario_results) -> dict:
    return scenario_results(server_kind)


def test_stalled_subscriber_is_disconnected(scenario):
    assert scenario["stalled_error"] is None, scenario["stalled_error"]


def test_reading_subscriber_gets_every_message_despite_a_stalled_one(scenario):
    assert scenario["delivered"] == scenario["expected_messages"]
    assert scenario["publisher_alive"]
    assert scenario["server_alive"]


def test_server_memory_stays_bounded_with_a_stalled_subscriber(scenario):
    growth = scenario["rss_peak"] - scenario["rss_before"]
    assert growth < RSS_MARGIN, f"RSS grew by {growth / 2**20:.1f} MiB for {TOTAL_BYTES / 2**20:.0f} MiB sent"


def test_subscriber_blocking_a_write_past_write_deadline_is_disconnected(server_kind, server_factory):
    # max_pending stays at its 64 MiB default, so only the write deadline can cut this one off.
    running = server_factory(server_kind, 'write_deadline: "1s"\n')
    with (
        RawClient.connect(running.port, rcvbuf=4096) as stalled,
        RawClient.handshake(running.port) as publisher,
    ):
        stalled.send(b'CONNECT {"verbose":false}\r\nSUB wd 1\r\n')
        assert stalled.fence() == b""
        # 16 MiB: far more than the kernel buffers between the server and the stalled socket.
        publisher.send((b"PUB wd 65536\r\n" + bytes(65536) + b"\r\n") * 256)
        assert publisher.fence() == b""
        # Not reading for several deadlines keeps the server's write blocked past its deadline.
        time.sleep(4)
        stalled.read_until_eof(timeout=30, limit=STALLED_DRAIN_LIMIT)
