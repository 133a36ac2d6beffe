"""A small site for the operations tests (/metrics, /servicez, the dashboard): a broker with
JetStream and its monitoring port, a leaf link up to a nats-server hub, two devices (nats-py clients
named as devices) that subscribe and publish, and a READINGS stream holding their readings with a
durable pull consumer that has taken some and acknowledged fewer.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass

import nats
from leaf_helpers import hub_config, leaf_config, poll_monitor
from monitor_http import Monitored, start_monitored
from nats.js.api import AckPolicy, ConsumerConfig
from servers import RunningServer, free_port

DEVICES = ("pump-house-7", "weather-mast-2")
READINGS = 6
FETCHED = 4
ACKED = 3


@dataclass
class Site:
    broker: Monitored
    hub: RunningServer
    devices: list


def site_config(store_dir: str, leaf_port: int) -> str:
    return leaf_config("site-pi", f'url: "nats-leaf://127.0.0.1:{leaf_port}"',
                       f'jetstream {{ store_dir: "{store_dir}" }}\n')


@asynccontextmanager
async def running_site(server_factory, tmp_path, kind: str = "edgenats"):
    leaf_port = free_port()
    hub = server_factory("nats-server", config=hub_config("hub", leaf_port))
    broker = start_monitored(server_factory, kind, site_config(str(tmp_path / "store"), leaf_port))
    await poll_monitor(broker.monitor.port, "/leafz", lambda leafz: leafz["leafnodes"] == 1)
    devices = [await nats.connect(broker.server.url, name=name, allow_reconnect=False) for name in DEVICES]
    try:
        js = devices[0].jetstream()
        await js.add_stream(name="READINGS", subjects=["readings.>"])
        for number in range(READINGS):
            device = DEVICES[number % 2]
            await devices[number % 2].jetstream().publish(f"readings.{device}", b'{"t": %d}' % number)
        await js.add_consumer("READINGS", ConsumerConfig(durable_name="uplink", ack_policy=AckPolicy.EXPLICIT))
        puller = await js.pull_subscribe("readings.>", durable="uplink", stream="READINGS")
        messages = await puller.fetch(FETCHED, timeout=5)
        for message in messages[:ACKED]:
            await message.ack_sync()
        await devices[1].subscribe("commands.weather-mast-2", cb=_ignore)
        for device in devices:
            await device.flush()
        yield Site(broker, hub, devices)
    finally:
        for device in devices:
            await device.close()


async def _ignore(msg) -> None:
    return None
