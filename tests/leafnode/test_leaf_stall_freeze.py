"""A stalled hub is not a dead hub: the hub (a real nats-server) is frozen with SIGSTOP, so its socket
stays open and nothing is read, while a publisher on the leaf goes on at a steady pace and a
subscriber on the hub counts what arrives once the hub runs again.

nats-server as the leaf keeps the link through a freeze longer than its 10 s write deadline (it
logs a slow consumer and retries, `write_timeout: retry` for leaf links) and delivers everything;
edgenats must do the same. Where nats-server lets the leaf's memory grow without limit, edgenats holds
at most `leafnodes { max_pending }` for the link and drops (and counts) the messages beyond it.
"""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass

import nats
import pytest
from leaf_helpers import hub_config, poll_monitor, wait_for_interest
from servers import RunningServer, free_port
from subscribed import subscribed

RATE = 2000
SUBJECT = "stall.reading"
MB = 1024 * 1024


@dataclass
class StallPair:
    hub: RunningServer
    leaf: RunningServer
    hub_http: int
    leaf_http: int


def start_pair(server_factory, leaf_kind: str, leaf_settings: str = "") -> StallPair:
    leaf_port, hub_http, leaf_http = free_port(), free_port(), free_port()
    hub = server_factory("nats-server", config=hub_config("stall-hub", leaf_port, extra=f"http_port: {hub_http}"))
    leaf_text = (f"server_name: stall-leaf\nhttp_port: {leaf_http}\nleafnodes {{\n"
                 f'  remotes = [ {{ url: "nats-leaf://127.0.0.1:{leaf_port}" }} ]\n  {leaf_settings}\n}}\n')
    leaf = server_factory(leaf_kind, config=leaf_text)
    return StallPair(hub, leaf, hub_http, leaf_http)


def rss(pid: int) -> int:
    """Resident memory of process `pid`, in bytes (VmRSS in /proc/<pid>/status)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


async def link_ids(pair: StallPair) -> tuple[int, int]:
    """The link's connection id on the hub and on the leaf, once both list exactly one link."""
    hub = await poll_monitor(pair.hub_http, "/leafz", lambda doc: doc["leafnodes"] == 1)
    leaf = await poll_monitor(pair.leaf_http, "/leafz", lambda doc: doc["leafnodes"] == 1)
    assert hub["leafnodes"] == 1 and leaf["leafnodes"] == 1
    return hub["leafs"][0]["id"], leaf["leafs"][0]["id"]


class Counter:
    """The hub-side subscriber: the numbers received, and an event once `expected` have arrived."""

    def __init__(self) -> None:
        self.numbers: list[int] = []
        self.expected = -1
        self.done = asyncio.Event()

    async def receive(self, msg) -> None:
        self.numbers.append(int(msg.data[:8]))
        if len(self.numbers) == self.expected:
            self.done.set()

    async def wait_for(self, expected: int, timeout: float) -> None:
        self.expected = expected
        if len(self.numbers) >= expected:
            self.done.set()
        try:
            await asyncio.wait_for(self.done.wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"{len(self.numbers)} of {expected} messages arrived") from None


async def publish_through_freeze(pair: StallPair, leaf_nc, payload_size: int, freeze: float) -> tuple[int, int]:
    """Publish numbered messages at RATE per second; one second in, freeze the hub for `freeze`
    seconds; stop publishing when it runs again. Returns (messages published, peak leaf RSS growth
    over the RSS just before the freeze)."""
    loop = asyncio.get_running_loop()
    padding = b"x" * (payload_size - 8)
    total = int(RATE * (1.0 + freeze))
    start = loop.time()
    baseline = peak = 0

    async def publisher() -> None:
        for number in range(total):
            await leaf_nc.publish(SUBJECT, b"%08d" % number + padding)
            if number % 100 == 99:
                await leaf_nc.flush()
                ahead = start + (number + 1) / RATE - loop.time()
                if ahead > 0:
                    await asyncio.sleep(ahead)
        await leaf_nc.flush()

    async def freezer() -> None:
        nonlocal baseline, peak
        await asyncio.sleep(1.0)
        baseline = peak = rss(pair.leaf.pid)
        os.kill(pair.hub.pid, signal.SIGSTOP)
        try:
            frozen_until = loop.time() + freeze
            while loop.time() < frozen_until:
                await asyncio.sleep(0.25)
                peak = max(peak, rss(pair.leaf.pid))
        finally:
            os.kill(pair.hub.pid, signal.SIGCONT)

    try:
        await asyncio.gather(publisher(), freezer())
    finally:
        os.kill(pair.hub.pid, signal.SIGCONT)
    return total, peak - baseline


async def connect_both(pair: StallPair, counter: Counter):
    hub_nc = await nats.connect(pair.hub.url, allow_reconnect=False)
    leaf_nc = await nats.connect(pair.leaf.url, allow_reconnect=False)
    await hub_nc.subscribe(SUBJECT, cb=counter.receive)
    await subscribed(hub_nc)
    await wait_for_interest(hub_nc, leaf_nc)
    return hub_nc, leaf_nc


@pytest.mark.parametrize("leaf_kind", ["edgenats", "nats-server"])
async def test_leaf_keeps_the_link_to_a_nats_server_hub_frozen_15s_delivering_all(server_factory, leaf_kind):
    # 1 KB at 2,000/s for 16 s: about 32 MB, far more than the kernel's socket buffers hold and well
    # within the default 64 MB bound; the leaf's writes stay blocked past the 10 s write deadline.
    pair = start_pair(server_factory, leaf_kind)
    counter = Counter()
    hub_nc, leaf_nc = await connect_both(pair, counter)
    try:
        before = await link_ids(pair)
        published, _ = await publish_through_freeze(pair, leaf_nc, 1024, freeze=15.0)
        await counter.wait_for(published, timeout=30)
        assert counter.numbers == list(range(published))
        assert await link_ids(pair) == before
        # The scenario passed the write deadline: the leaf saw its hub as a slow consumer and kept it.
        assert "Slow Consumer Detected: WriteDeadline" in pair.leaf.log_text()
        varz = await poll_monitor(pair.leaf_http, "/varz", lambda doc: True)
        assert varz["slow_consumer_stats"]["leafs"] >= 1
        assert varz["slow_consumer_stats"]["clients"] == 0
        if leaf_kind == "edgenats":
            leafz = await poll_monitor(pair.leaf_http, "/leafz", lambda doc: True)
            assert leafz["remotes"][0]["connects"] == 1
            assert leafz["leafs"][0]["dropped_msgs"] == 0
    finally:
        await hub_nc.close()
        await leaf_nc.close()


async def test_edgenats_leaf_of_a_frozen_nats_server_hub_holds_at_most_max_pending_and_counts_drops(server_factory):
    # 4 KB at 2,000/s into a hub frozen for 4 s: about 32 MB, against a 2 MB bound. nats-server has no
    # such bound on a leaf link (its memory grows with the backlog), so this runs on edgenats only.
    bound = 2 * MB
    pair = start_pair(server_factory, "edgenats", f"max_pending: {bound}")
    counter = Counter()
    hub_nc, leaf_nc = await connect_both(pair, counter)
    try:
        before = await link_ids(pair)
        published, growth = await publish_through_freeze(pair, leaf_nc, 4096, freeze=4.0)
        # The publisher's flush returned: every message has been written or dropped by the leaf.
        leafz = await poll_monitor(pair.leaf_http, "/leafz", lambda doc: True)
        link = leafz["leafs"][0]
        dropped = link["dropped_msgs"]
        assert dropped > 0
        assert link["dropped_bytes"] == dropped * 4096
        await counter.wait_for(published - dropped, timeout=30)
        # What arrives is in order, with nothing doubled; the gap is what was dropped.
        assert counter.numbers == sorted(set(counter.numbers))
        assert len(counter.numbers) == published - dropped
        assert counter.numbers[:RATE // 2] == list(range(RATE // 2))
        assert growth < bound + 8 * MB, f"leaf RSS grew by {growth / MB:.1f} MB with a {bound / MB:.0f} MB bound"
        assert await link_ids(pair) == before
        log = pair.leaf.log_text()
        assert f"Slow Consumer Detected: MaxPending of {bound} Exceeded, dropping messages" in log
        assert f"Slow Consumer Recovered: {dropped} messages dropped" in log
    finally:
        await hub_nc.close()
        await leaf_nc.close()


@pytest.mark.parametrize("leaf_kind", ["edgenats", "nats-server"])
async def test_leaf_with_write_timeout_close_cuts_a_frozen_nats_server_hub_and_redials(server_factory, leaf_kind):
    # The nats-server policy that treats a leaf link like a client: the first passed deadline cuts it.
    pair = start_pair(server_factory, leaf_kind, 'write_deadline: "1s"\n  write_timeout: close')
    counter = Counter()
    hub_nc, leaf_nc = await connect_both(pair, counter)
    try:
        before = await link_ids(pair)
        await publish_through_freeze(pair, leaf_nc, 4096, freeze=3.0)
        after = await poll_monitor(pair.hub_http, "/leafz",
                                   lambda doc: doc["leafnodes"] == 1 and doc["leafs"][0]["id"] != before[0])
        assert after["leafs"][0]["id"] != before[0]
        assert "Slow Consumer Detected: WriteDeadline of 1" in pair.leaf.log_text()
    finally:
        await hub_nc.close()
        await leaf_nc.close()
