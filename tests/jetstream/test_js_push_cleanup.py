"""Consumers leave nothing behind, on both servers: the subscription count of `/subsz` (which counts
the servers' internal subscriptions too) is back where it was after 100 ephemeral push consumers
(with flow control and heartbeats) and pull consumers are deleted, and after a stream with
consumers is deleted."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import nats
from js_helpers import api
from servers import free_port


def subscriptions(server) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.http_port}/subsz", timeout=5) as response:
        return json.loads(response.read())["num_subscriptions"]


async def test_deleted_consumers_leave_no_subscriptions(server_kind, server_factory, tmp_path):
    server = server_factory(server_kind, extra_args=["-js", "-sd", str(tmp_path / "store"), "-m", str(free_port())])
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    await js.add_stream(name="LEAK", subjects=["leak.>"])
    await js.publish("leak.a", b"a")
    await api(nc, "$JS.API.STREAM.INFO.LEAK")
    baseline = subscriptions(server)
    names = []
    for index in range(100):
        config = {"deliver_subject": f"to.leak.{index}", "flow_control": True, "idle_heartbeat": 1_000_000_000}
        if index % 2:
            config = {"ack_policy": "explicit"}
        created = await api(nc, "$JS.API.CONSUMER.CREATE.LEAK", {"stream_name": "LEAK", "config": config})
        names.append(created["name"])
    assert subscriptions(server) > baseline
    deleted = await asyncio.gather(*[api(nc, f"$JS.API.CONSUMER.DELETE.LEAK.{name}") for name in names])
    assert all(answer["success"] for answer in deleted)
    assert (await api(nc, "$JS.API.CONSUMER.NAMES.LEAK"))["total"] == 0
    assert subscriptions(server) == baseline

    await js.add_stream(name="GONE", subjects=["gone.>"])
    for index in range(10):
        await api(nc, "$JS.API.CONSUMER.CREATE.GONE", {"stream_name": "GONE", "config": {
            "deliver_subject": f"to.gone.{index}", "flow_control": True, "idle_heartbeat": 1_000_000_000}})
    assert (await api(nc, "$JS.API.STREAM.DELETE.GONE"))["success"] is True
    assert subscriptions(server) == baseline
    await nc.close()
