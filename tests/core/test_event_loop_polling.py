"""The broker's event loop polls for a moment before it sleeps while events come close together
(edgenats.event_loop): on real sockets its selector returns what is ready and honours the loop's timeouts in
both of its states, and a broker that has just served a burst of requests goes back to sleep: a quiet
second then costs it under a tenth of a CPU-second, as it does nats-server."""

from __future__ import annotations

import asyncio
import selectors
import socket
import time

import nats
from edgenats.bench.probes import ProcessProbe
from edgenats.event_loop import SOON, PollingSelector

IDLE_SECONDS = 1.0
IDLE_CPU_LIMIT = 0.1  # seconds of CPU in IDLE_SECONDS: a loop that kept polling would take about 1


def test_selector_polls_after_close_events_and_sleeps_after_distant_ones():
    selector = PollingSelector()
    ours, theirs = socket.socketpair()
    try:
        key = selector.register(ours, selectors.EVENT_READ)
        assert selector.polling is False, "a fresh loop sleeps on its first wait"
        theirs.send(b"a")
        assert [ready for ready, _ in selector.select(1.0)] == [key]
        assert selector.polling is True, "an event at once: the next wait polls first"
        ours.recv(16)

        theirs.send(b"b")  # ready while polling: returned by the first poll
        assert [ready for ready, _ in selector.select(1.0)] == [key]
        assert selector.polling is True
        ours.recv(16)

        started = time.monotonic()
        assert selector.select(0.05) == [], "nothing came: the loop's timeout still ends the wait"
        assert time.monotonic() - started >= 0.05
        assert selector.polling is False, "a wait longer than SOON: the next one sleeps at once"

        started = time.monotonic()
        assert selector.select(SOON * 100) == []
        assert time.monotonic() - started >= SOON * 100
        assert selector.polling is False
    finally:
        selector.close()
        ours.close()
        theirs.close()


async def test_broker_at_rest_after_a_burst_of_requests_takes_no_cpu(server):
    nc = await nats.connect(server.url)

    async def echo(msg):
        await msg.respond(msg.data)

    await nc.subscribe("echo", cb=echo)
    for i in range(2000):
        assert (await nc.request("echo", b"%d" % i, timeout=2)).data == b"%d" % i
    probe = ProcessProbe(server.pid)
    before = probe.cpu_seconds()
    await asyncio.sleep(IDLE_SECONDS)  # no event to wait for: what is measured is the CPU of a quiet second
    assert probe.cpu_seconds() - before < IDLE_CPU_LIMIT
    await nc.close()
