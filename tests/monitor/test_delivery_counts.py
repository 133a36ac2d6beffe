"""Delivery counters seen through /connz and /varz stay exact on every delivery path: fan-out to
plain subscribers, a publisher with echo off that also subscribes, queue groups and UNSUB limits.
"""

from __future__ import annotations

import asyncio

import nats
from monitor_http import start_monitored


def test_counters_are_exact_across_fan_out_echo_off_queues_and_limits(server_kind, server_factory):
    monitored = start_monitored(server_factory, server_kind)
    monitor = monitored.monitor
    messages = 40

    async def scenario() -> dict:
        url = monitored.server.url
        first = await nats.connect(url, name="count-first", allow_reconnect=False)
        second = await nats.connect(url, name="count-second", allow_reconnect=False)
        publisher = await nats.connect(url, name="count-pub", no_echo=True, allow_reconnect=False)
        await first.subscribe("count.x")
        await second.subscribe("count.x")
        await second.subscribe("count.x", queue="workers")
        limited = await first.subscribe("count.>")
        await limited.unsubscribe(limit=messages // 2)
        await publisher.subscribe("count.x")  # echo off: never receives its own messages
        for connection in (first, second, publisher):
            await connection.flush()
        for _ in range(messages):
            await publisher.publish("count.x", b"0123456789")
        await publisher.flush()
        return await monitor.settled(
            "/connz?subs=detail",
            lambda connz: sum(c["out_msgs"] for c in connz["connections"]) >= 3.5 * messages,
        )

    connz = asyncio.run(scenario())
    by_name = {connection["name"]: connection for connection in connz["connections"]}
    # first: its plain subscription (40) and the limited wildcard one (20).
    assert by_name["count-first"]["out_msgs"] == messages + messages // 2
    assert by_name["count-first"]["out_bytes"] == (messages + messages // 2) * 10
    # second: its plain subscription (40) and every queue-group message (its only member).
    assert by_name["count-second"]["out_msgs"] == 2 * messages
    assert by_name["count-pub"]["out_msgs"] == 0
    assert by_name["count-pub"]["in_msgs"] == messages
    first_subs = {sub["subject"]: sub["msgs"] for sub in by_name["count-first"]["subscriptions_list_detail"]}
    assert first_subs == {"count.x": messages}
    varz = monitor.get("/varz")
    assert varz["out_msgs"] >= 3.5 * messages
