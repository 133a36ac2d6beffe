"""Service discovery: a device answers $SRV.PING/INFO/STATS so that nats-py's micro types parse it, and
the operator's `edgenats micro` shows it."""

from __future__ import annotations

import json

import nats
from edgenats.cli.micro_commands import discover, show_info, show_stats
from nats.micro.service import ServiceInfo, ServicePing, ServiceStats
from unats_helpers import EXTRAS_HEAP


async def test_device_service_is_discoverable_and_counts_requests(server, start_device):
    device = await start_device("service.py", server.url, heap=EXTRAS_HEAP)
    service_id = (await device.expect("READY")).split()[1]
    peer = await nats.connect(server.url)

    ping = ServicePing.from_dict(json.loads((await peer.request("$SRV.PING", b"", timeout=5)).data))
    assert (ping.name, ping.id, ping.version, ping.metadata) == ("sensor", service_id, "1.2.0", {"site": "pi-01"})
    info_reply = json.loads((await peer.request(f"$SRV.INFO.sensor.{service_id}", b"", timeout=5)).data)
    assert info_reply["type"] == "io.nats.micro.v1.info_response"
    info = ServiceInfo.from_dict(info_reply)
    assert info.description == "edge sensor"
    assert [(e.name, e.subject, e.queue_group, e.metadata) for e in info.endpoints] == [
        ("temp", "sensor.temp", "q", {"unit": "C"}), ("fail", "sensor.fail", "sq", None)]

    assert (await peer.request("sensor.temp", b"", timeout=5)).data == b"21.5"
    failed = await peer.request("sensor.fail", b"", timeout=5)
    assert failed.headers == {"Nats-Service-Error": "bad input", "Nats-Service-Error-Code": "400"}

    stats = ServiceStats.from_dict(json.loads((await peer.request("$SRV.STATS.sensor", b"", timeout=5)).data))
    by_name = {e.name: e for e in stats.endpoints}
    assert (by_name["temp"].num_requests, by_name["temp"].num_errors) == (1, 0)
    assert (by_name["fail"].num_requests, by_name["fail"].num_errors) == (1, 1)
    assert by_name["fail"].last_error == "400:bad input"

    # What `edgenats micro stats sensor` and `edgenats micro info sensor` print for it.
    instances = await discover(peer, "sensor", "", 0.3)
    stats_table = show_stats(instances, "sensor").splitlines()
    info_text = show_info(instances, "sensor").splitlines()
    assert stats_table[0] == "sensor Service Statistics"
    assert stats_table[4].split()[:5] == ["sensor", service_id, "temp", "1", "0"]
    assert stats_table[5].split()[:3] == ["fail", "1", "1"]
    assert stats_table[6].split()[:3] == ["total", "2", "1"]
    assert f"  Service:      sensor ({service_id})" in info_text
    assert "    Last error:       400:bad input" in info_text

    await peer.publish("dev.stop", b"")
    await peer.flush()
    await device.finish()
    await peer.close()
