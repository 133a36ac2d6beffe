"""Readings through JetStream across a broker crash, against both brokers: a file stream captures two
sensors' subjects (not a third's, whose readings go out as core messages); the service (stream "auto")
finds it and publishes each reading with its Nats-Msg-Id; the broker is killed with SIGKILL mid-run
while the sensors go on reading, is kept away until the reading in flight went unacknowledged, and is
started again on the same port and store. In the stream every reading of each sensor is there once,
seq 1 up to the last one the service reported, with no gap and no duplicate. The service's broker user
has only the permissions the README lists for it. A stream that refuses one sensor's readings (full,
discard new) holds up only that sensor's outbox."""

from __future__ import annotations

import asyncio
import json
import re
import signal

import nats
from nats.js.api import DiscardPolicy, StreamConfig
from sensors_process import sensors_config

SENSORS = [{"name": name, "type": "bme280", "bus": bus, "address": 0x76, "interval_s": 0.01}
           for name, bus in (("greenhouse", 96), ("cellar", 97))]
# The service logs in with the permissions the README lists for it.
USERS = """authorization { users = [
  {user: admin, password: admin-secret}
  {user: sensors, password: s3cret, permissions: {
    publish: ["site1.pi1.greenhouse", "site1.pi1.cellar", "site1.pi1.attic", "$JS.API.INFO", "$JS.API.STREAM.NAMES"]
    subscribe: ["site1.pi1.sensors.>", "$SRV.>", "_INBOX.>"]
    allow_responses: true }}
] }
"""
ATTIC = {"name": "attic", "type": "sht31", "bus": 98, "address": 0x44, "interval_s": 60}  # no stream for it


async def stream_messages(js, stream: str) -> list:
    last = (await js.stream_info(stream)).state.last_seq
    return [await js.get_msg(stream, seq) for seq in range(1, last + 1)]


async def wait_for_stored(js, stream: str, count: int) -> None:
    while (await js.stream_info(stream)).state.messages < count:
        await asyncio.sleep(0.02)


async def test_a_broker_killed_mid_run_loses_no_reading_and_stores_none_twice(
        server_kind, server_factory, sensor_service, tmp_path):
    config = f'jetstream {{ store_dir: "{tmp_path / "store"}" }}\n' + USERS
    broker = server_factory(server_kind, config)
    client = await nats.connect(broker.url, user="admin", password="admin-secret")
    js = client.jetstream()
    await js.add_stream(StreamConfig(name="SENSORS", subjects=["site1.pi1.greenhouse", "site1.pi1.cellar"]))
    service = sensor_service(sensors_config(broker.url, [*SENSORS, ATTIC], user="sensors", password="s3cret"))
    service.wait_for_log(r"readings on site1\.pi1\.greenhouse go through JetStream")
    service.wait_for_log(r"readings on site1\.pi1\.attic go out as core messages \(no stream captures them\)")
    await asyncio.wait_for(wait_for_stored(js, "SENSORS", 10), 10)
    await client.close()

    broker.stop(signal.SIGKILL)
    disconnected = service.wait_for_log(r"disconnected from the broker").end()
    # The sensors go on while the broker is away (six more attempts of each), and the reading in flight
    # is not acknowledged: it will be sent again with its Nats-Msg-Id.
    for name in ("greenhouse", "cellar"):
        while len(re.findall(rf"sensor {name} ", service.log_text()[disconnected:])) < 6:
            await asyncio.sleep(0.02)
    service.wait_for_log(r"reading pi1-\w+-\w+-\d+ on site1\.pi1\.\w+ not stored yet \(.*\); sending it again")
    broker = server_factory(server_kind, config, port=broker.port)  # the same port and store
    service.wait_for_log(r"reconnected to ")

    client = await nats.connect(broker.url, user="admin", password="admin-secret")
    try:
        js = client.jetstream()
        answer = await client.request("site1.pi1.sensors.status", b"", timeout=5)
        taken = {entry["name"]: entry["last"]["seq"] for entry in json.loads(answer.data)}
        assert service.stop() == 0
        assert "readings not stored" not in service.log_text()
        stored = await stream_messages(js, "SENSORS")
    finally:
        await client.close()
    boot_id = re.search(r"\(boot id ([0-9a-f]+)\)", service.log_text()).group(1)
    for name in ("greenhouse", "cellar"):
        mine = [json.loads(msg.data) | {"id": msg.headers["Nats-Msg-Id"]} for msg in stored
                if msg.subject == f"site1.pi1.{name}"]
        seqs = [doc["seq"] for doc in mine]
        assert seqs == list(range(1, len(seqs) + 1)), seqs  # in order, no gap, no duplicate
        # Everything taken up to the status request, which came after the outage's readings.
        assert len(seqs) >= taken[name]
        assert {doc["id"] for doc in mine} == {f"pi1-{name}-{boot_id}-{seq}" for seq in seqs}


async def test_a_stream_that_refuses_one_sensor_holds_up_only_that_sensor(server_kind, server_factory, sensor_service,
                                                                         tmp_path):
    broker = server_factory(server_kind, f'jetstream {{ store_dir: "{tmp_path / "store"}" }}\n')
    client = await nats.connect(broker.url)
    try:
        await client.jetstream().add_stream(StreamConfig(name="SMALL", subjects=["site1.pi1.greenhouse"], max_msgs=2,
                                                         discard=DiscardPolicy.NEW))
        cellar: asyncio.Queue = asyncio.Queue()

        async def collect(msg) -> None:
            cellar.put_nowait(json.loads(msg.data)["seq"])

        await client.subscribe("site1.pi1.cellar", cb=collect)
        await client.flush()
        await client.flush()
        service = sensor_service(sensors_config(broker.url, SENSORS))
        service.wait_for_log(r"reading pi1-greenhouse-\w+-3 on site1\.pi1\.greenhouse not stored yet "
                             r"\(the stream refused it: 'maximum messages exceeded'\)")
        seen = [await asyncio.wait_for(cellar.get(), 5)]
        while not cellar.empty():
            seen.append(cellar.get_nowait())
        # The cellar's readings (core: no stream captures them) go on while the greenhouse's third waits.
        later = [await asyncio.wait_for(cellar.get(), 5) for _ in range(3)]
        assert seen + later == list(range(1, len(seen) + 4))
        assert (await client.jetstream().stream_info("SMALL")).state.messages == 2
        service.process.kill()  # a SIGTERM would give the held reading its 2 s to be stored at the stop
    finally:
        await client.close()
