"""Bounded memory, as a user sees it in /proc/<pid>/status: the broker with JetStream on and idle, a
million stored messages (the in-memory index costs about 24 bytes a message, the messages stay on
disk), and a consumer that stops acking (its outstanding set stops at max_ack_pending)."""

from __future__ import annotations

import asyncio
import signal
import time

import nats
import pytest
from edgenats.jetstream.file_store import open_file_store
from edgenats.jetstream.store import SyncPolicy
from js_helpers import api
from nats.js.api import AckPolicy, ConsumerConfig
from servers import start_server
from store_appends import append

MB = 1 << 20
IDLE_LIMIT = 40 * MB
MILLION = 1_000_000
# Idle broker + index (~24 MB) + SQLite page caches; per-message Python objects would be 180+ MB.
MILLION_LIMIT = 80 * MB


def rss_bytes(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def edgenats_js(tmp_path):
    return start_server("edgenats", tmp_path / "servers", extra_args=["-js", "-sd", str(tmp_path / "store")])


async def test_idle_broker_with_jetstream_and_a_stream_stays_under_40_mb(tmp_path):
    server = edgenats_js(tmp_path)
    try:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await js.add_stream(name="IDLE", subjects=["idle.>"])
        await js.add_stream(name="IDLEMEM", subjects=["mem.>"], storage="memory")
        await js.add_consumer("IDLE", ConsumerConfig(durable_name="d", ack_policy=AckPolicy.EXPLICIT))
        await js.publish("idle.one", b"x")
        rss = rss_bytes(server.pid)
        await nc.close()
    finally:
        server.stop()
    assert rss < IDLE_LIMIT, f"idle RSS {rss / MB:.1f} MB"


async def test_a_stalled_consumer_holds_at_most_max_ack_pending(js_server, nc):
    js = nc.jetstream()
    await js.add_stream(name="STALL", subjects=["stall"])
    await js.add_consumer("STALL", ConsumerConfig(durable_name="slow", ack_policy=AckPolicy.EXPLICIT,
                                                  max_ack_pending=20, ack_wait=30))
    await asyncio.gather(*(js.publish("stall", b"m%d" % index) for index in range(200)))
    subscription = await js.pull_subscribe_bind("slow", "STALL")

    first = await subscription.fetch(100, timeout=1)
    with pytest.raises(nats.errors.TimeoutError):
        await subscription.fetch(1, timeout=0.3)
    info = await api(nc, "$JS.API.CONSUMER.INFO.STALL.slow")

    assert len(first) == 20
    assert (info["num_ack_pending"], info["num_pending"]) == (20, 180)


@pytest.mark.slow
async def test_a_million_stored_messages_do_not_live_in_memory(tmp_path):
    server = edgenats_js(tmp_path)
    nc = await nats.connect(server.url)
    await nc.jetstream().add_stream(name="MILLION", subjects=["million.*"])
    await nc.close()
    server.stop(signal.SIGTERM)
    store = open_file_store(tmp_path / "store" / "jetstream" / "$G" / "streams" / "MILLION" / "store", SyncPolicy())
    started = time.perf_counter()
    for chunk in range(0, MILLION, 50_000):
        *_, last = [append(store, f"million.{seq % 10}", None, b"0123456789abcdef", seq)
                    for seq in range(chunk + 1, chunk + 50_001)]
        await last
    await store.close()
    filled_s = time.perf_counter() - started

    server = edgenats_js(tmp_path)
    try:
        nc = await nats.connect(server.url)
        info = await api(nc, "$JS.API.STREAM.INFO.MILLION")
        rss = rss_bytes(server.pid)
        await nc.close()
    finally:
        server.stop()
    print(f"1M x 16 B messages: filled in {filled_s:.1f}s, broker RSS {rss / MB:.1f} MB")
    assert (info["state"]["messages"], info["state"]["num_subjects"]) == (MILLION, 10)
    assert rss < MILLION_LIMIT, f"RSS {rss / MB:.1f} MB with a million messages stored"
