"""/varz: the fields monitoring tools read are there with nats-server's types, and the counters move
with real traffic from nats-py clients.
"""

from __future__ import annotations

import asyncio
import re

import nats

# Field -> JSON type, as prometheus-nats-exporter, surveyor and the nats CLI decode them.
VARZ_FIELDS = {
    "server_id": str, "server_name": str, "version": str, "proto": int, "go": str, "host": str,
    "port": int, "max_connections": int, "ping_interval": int, "ping_max": int, "http_host": str,
    "http_port": int, "http_base_path": str, "https_port": int, "auth_timeout": (int, float),
    "max_control_line": int, "max_payload": int, "max_pending": int, "tls_timeout": (int, float),
    "write_deadline": int, "start": str, "now": str, "uptime": str, "mem": int, "cores": int,
    "gomaxprocs": int, "cpu": (int, float), "connections": int, "total_connections": int, "routes": int,
    "remotes": int, "leafnodes": int, "in_msgs": int, "out_msgs": int, "in_bytes": int, "out_bytes": int,
    "slow_consumers": int, "stale_connections": int, "subscriptions": int, "http_req_stats": dict,
    "config_load_time": str, "slow_consumer_stats": dict, "stale_connection_stats": dict,
    "cluster": dict, "gateway": dict, "leaf": dict, "mqtt": dict, "websocket": dict, "jetstream": dict,
    "system_account": str,
}
RFC3339_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
UPTIME = re.compile(r"^(\d+y)?(\d+d)?(\d+h)?(\d+m)?\d+s$")


def test_varz_has_the_fields_tools_read_with_their_types(monitored):
    varz = monitored.monitor.get("/varz")
    for field, kind in VARZ_FIELDS.items():
        assert field in varz, field
        assert isinstance(varz[field], kind) and not isinstance(varz[field], bool), (field, varz[field])
    assert varz["port"] == monitored.server.port
    assert varz["http_port"] == monitored.monitor.port
    assert varz["ping_interval"] == 120 * 10**9 and varz["write_deadline"] == 10 * 10**9
    assert varz["max_payload"] == 1024 * 1024
    assert varz["system_account"] == "$SYS"
    for field in ("start", "now", "config_load_time"):
        assert RFC3339_NANO.match(varz[field]), varz[field]
    assert UPTIME.match(varz["uptime"])
    assert varz["mem"] > 0 and varz["cores"] >= 1
    for stats in ("slow_consumer_stats", "stale_connection_stats"):
        assert set(varz[stats]) == {"clients", "routes", "gateways", "leafs"}
    monitored.monitor.get("/connz")
    again = monitored.monitor.get("/varz")
    assert again["http_req_stats"]["/varz"] == varz["http_req_stats"]["/varz"] + 1
    assert again["http_req_stats"]["/connz"] >= 1


def test_varz_counts_connections_messages_and_subscriptions(monitored):
    monitor = monitored.monitor
    before = monitor.get("/varz")
    count = 7

    async def traffic() -> dict:
        subscriber = await nats.connect(monitored.server.url, name="varz-sub")
        publisher = await nats.connect(monitored.server.url, name="varz-pub")
        received = asyncio.Queue()
        await subscriber.subscribe("varz.test", cb=received.put)
        await subscriber.subscribe("varz.other.>")
        await monitor.settled("/varz", lambda varz: varz["subscriptions"] == before["subscriptions"] + 2)
        for _ in range(count):
            await publisher.publish("varz.test", b"12345")
        for _ in range(count):
            await asyncio.wait_for(received.get(), 5)
        during = await monitor.settled("/varz", lambda varz: varz["in_msgs"] - before["in_msgs"] == count)
        await subscriber.close()
        await publisher.close()
        return during

    during = asyncio.run(traffic())
    assert during["connections"] == before["connections"] + 2
    assert during["total_connections"] == before["total_connections"] + 2
    assert during["subscriptions"] == before["subscriptions"] + 2
    assert during["in_msgs"] - before["in_msgs"] == count
    assert during["out_msgs"] - before["out_msgs"] == count
    assert during["in_bytes"] - before["in_bytes"] == 5 * count
    assert during["out_bytes"] - before["out_bytes"] == 5 * count

    after = monitor.wait_for("/varz", lambda varz: varz["connections"] == before["connections"])
    assert after["connections"] == before["connections"]
    assert after["subscriptions"] == before["subscriptions"]
    assert after["in_msgs"] == during["in_msgs"]
