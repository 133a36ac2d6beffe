"""The bench's open-loop publishers against both servers: payloads that differ message by message and
arrive as sent, several publishers at once, and every run counted exactly (open loop and paced)."""

from __future__ import annotations

import json
import re
import socket

import pytest
from edgenats.bench.frames import FrameCycle, sub_frame
from edgenats.bench.loadgen import Publisher, publish_together
from edgenats.bench.wire import Endpoint, open_connection
from operator_cli import run_cli

SUBJECT = "bench.openloop"
MSG_LINE = re.compile(rb"MSG (\S+) (\d+) (\d+)\r\n")


def read_messages(sock: socket.socket, count: int) -> list[bytes]:
    """The payloads of the next `count` MSG frames on `sock`, in order."""
    received, payloads, position = bytearray(), [], 0
    while len(payloads) < count:
        chunk = sock.recv(1 << 16)
        assert chunk, "the server closed the subscriber"
        received += chunk
        while (line := MSG_LINE.match(received, position)) and len(received) >= line.end() + int(line[3]) + 2:
            payloads.append(bytes(received[line.end():line.end() + int(line[3])]))
            position = line.end() + int(line[3]) + 2
    return payloads


@pytest.mark.parametrize("size", [3, 16, 1024])
def test_open_loop_payloads_differ_and_arrive_in_order(server, size):
    endpoint = Endpoint("127.0.0.1", server.port)
    count = 2 * FrameCycle(SUBJECT, size).length + 7
    with open_connection(endpoint, "sub", sub_frame(SUBJECT, 1)) as subscriber, \
            open_connection(endpoint, "pub") as publisher_sock:
        publisher = Publisher(publisher_sock, SUBJECT, size, 64 * 1024, stall_timeout_s=5.0)
        subscriber.settimeout(5.0)
        assert publisher.publish(count=count) == count
        publisher.settle()
        payloads = read_messages(subscriber, count)
    cycle = publisher.cycle.length
    digits = min(size, 6)
    assert [int(payload[:digits]) for payload in payloads] == [index % cycle for index in range(count)]
    assert all(len(payload) == size for payload in payloads)
    assert len(set(payloads[:cycle])) == cycle


def test_several_publishers_together_send_exactly_the_count_asked(server):
    endpoint = Endpoint("127.0.0.1", server.port)
    count = 5003
    with open_connection(endpoint, "sub", sub_frame(SUBJECT, 1)) as subscriber:
        socks = [open_connection(endpoint, f"pub-{index}") for index in range(3)]
        try:
            publishers = [Publisher(sock, SUBJECT, 16, 4096, stall_timeout_s=5.0) for sock in socks]
            assert publish_together(publishers, count, None) == count
            assert [publisher.sent for publisher in publishers] == [1668, 1668, 1667]
            for publisher in publishers:
                publisher.settle()
            subscriber.settimeout(5.0)
            payloads = read_messages(subscriber, count)
        finally:
            for sock in socks:
                sock.close()
    counters = sorted(int(payload[:6]) for payload in payloads)
    assert counters == sorted([*range(1668), *range(1668), *range(1667)])


@pytest.mark.parametrize("mode", [[], ["--paced"]], ids=["open-loop", "paced"])
def test_bench_counts_fan_in_and_several_publishers_exactly(server, tmp_path, mode):
    report_path = tmp_path / "bench.json"
    result = run_cli(
        "-s", server.url, "bench", "--scenario", "fanin10,fanout4,queue4", "--pubs", "3", "--msgs", "3001",
        "--size", "16", *mode, "--json", str(report_path), timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(report_path.read_text())
    assert report["settings"]["paced"] is bool(mode) and report["settings"]["publishers"] == 3
    copies = {"fanin10": 1, "fanout4": 4, "queue4": 1}
    counted = {(entry["scenario"], entry["size"]): (entry["expected"], entry["counted"])
               for entry in report["results"]}
    assert counted == {(name, 16): (3001 * copies[name],) * 2 for name in copies}


def test_bench_checks_each_publishers_order_at_every_subscriber(server, tmp_path):
    report_path = tmp_path / "bench.json"
    result = run_cli(
        "-s", server.url, "bench", "--scenario", "pubsub,fanin10,fanout4,queue4", "--pubs", "3", "--msgs", "3001",
        "--size", "16,1k", "--check-order", "--json", str(report_path), timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(report_path.read_text())
    assert report["settings"]["check_order"] is True
    assert {(entry["scenario"], entry["size"], entry["error"]) for entry in report["results"]} == {
        (name, size, None) for name in ("pubsub", "fanin10", "fanout4", "queue4") for size in (16, 1024)}
