"""The sensor service on a host without an I2C bus, against both brokers: the real Blinka opens
/dev/i2c-N for each configured sensor, finds no such bus, and the service shows everything but the
bytes on the wire. Each failure is an error reading on the sensor's subject and a log line, retried
with backoff (the gaps double), while the other sensor keeps its own pace; with no JetStream, stream
"auto" publishes core messages; `read-now` answers with a fresh (error) reading, also published;
`set-interval` changes the pace at once; `status` counts what was published; `$SRV` discovery finds the
micro service and its endpoints. A config with mistakes names each one and the service does not start."""

from __future__ import annotations

import asyncio
import json

import nats
from nats.micro.request import ERROR_CODE_HEADER, ERROR_HEADER
from sensors_process import sensors_config

NO_BUS_97 = "I2C Bus #97 not found, check if enabled in config!"
NO_BUS_98 = "I2C Bus #98 not found, check if enabled in config!"
GREENHOUSE = {"name": "greenhouse", "type": "bme280", "bus": 97, "address": 0x76, "interval_s": 0.1}
SHED = {"name": "shed", "type": "sht31", "bus": 98, "address": 0x44, "interval_s": 30}


async def next_doc(queue: asyncio.Queue, timeout: float = 5.0) -> dict:
    return await asyncio.wait_for(queue.get(), timeout)


async def test_a_missing_bus_gives_error_readings_retried_with_backoff_and_commands_answer(
        server, sensor_service):
    client = await nats.connect(server.url)
    published: dict[str, asyncio.Queue] = {"greenhouse": asyncio.Queue(), "shed": asyncio.Queue()}

    async def collect(msg) -> None:
        published[msg.subject.rsplit(".", 1)[1]].put_nowait(json.loads(msg.data))

    await client.subscribe("site1.pi1.greenhouse", cb=collect)
    await client.subscribe("site1.pi1.shed", cb=collect)
    await client.flush()
    await client.flush()
    try:
        service = sensor_service(sensors_config(server.url, [GREENHOUSE, SHED]))  # stream: "auto"

        greenhouse = [await next_doc(published["greenhouse"]) for _ in range(4)]
        assert [doc["seq"] for doc in greenhouse] == [1, 2, 3, 4]
        assert {(doc["sensor"], doc["type"], doc["error"]) for doc in greenhouse} == {
            ("greenhouse", "bme280", NO_BUS_97)}
        gaps = [later["ts"] - earlier["ts"] for earlier, later in zip(greenhouse, greenhouse[1:], strict=False)]
        for nominal, gap in zip((0.1, 0.2, 0.4), gaps, strict=True):  # the backoff doubles the wait
            assert gap >= nominal * 0.9, gaps
        service.wait_for_log(r"\[WRN\] sensor greenhouse \(bme280 on bus 97 at 0x76\): "
                             + NO_BUS_97.replace("#", r"\#") + r"; retrying in 0\.4s$")

        # The shed's own pace (30 s) is untouched by the greenhouse's failures: one attempt so far.
        first = await next_doc(published["shed"])
        assert (first["seq"], first["error"]) == (1, NO_BUS_98)
        service.wait_for_log(r"sensor shed \(sht31 on bus 98 at 0x44\): .*; retrying in 30s$")
        # No JetStream on this broker: "auto" found no stream for the subjects.
        service.wait_for_log(r"readings on site1\.pi1\.shed go out as core messages \(no stream captures them\)")

        answer = await client.request("site1.pi1.sensors.read-now", b'{"sensor": "shed"}', timeout=5)
        fresh = json.loads(answer.data)
        assert (fresh["sensor"], fresh["seq"], fresh["error"]) == ("shed", 2, NO_BUS_98)
        assert await next_doc(published["shed"]) == fresh  # published too, and nothing came between

        answer = await client.request("site1.pi1.sensors.set-interval",
                                      b'{"sensor": "shed", "interval_s": 0.05}', timeout=5)
        assert json.loads(answer.data)["interval_s"] == 0.05
        # At 30 s, even doubled, these would take minutes.
        assert [(await next_doc(published["shed"], 3.0))["seq"] for _ in range(3)] == [3, 4, 5]

        refused = await client.request("site1.pi1.sensors.read-now", b'{"sensor": "attic"}', timeout=5)
        assert refused.headers[ERROR_CODE_HEADER] == "404"
        assert refused.headers[ERROR_HEADER] == "no sensor named 'attic'; sensors: greenhouse, shed"
        refused = await client.request("site1.pi1.sensors.set-interval", b'{"sensor": "shed", "interval_s": 0}',
                                       timeout=5)
        assert refused.headers[ERROR_CODE_HEADER] == "400"

        answer = await client.request("site1.pi1.sensors.status", b"", timeout=5)
        status = {entry["name"]: entry for entry in json.loads(answer.data)}
        assert set(status) == {"greenhouse", "shed"}
        shed = status["shed"]
        assert {key: shed[key] for key in ("type", "bus", "address", "subject", "interval_s", "readings")} == {
            "type": "sht31", "bus": 98, "address": 0x44, "subject": "site1.pi1.shed", "interval_s": 0.05,
            "readings": 0}
        assert shed["errors"] == shed["last"]["seq"] >= 5 and shed["last"]["error"] == NO_BUS_98
        assert status["greenhouse"]["errors"] >= 4 and status["greenhouse"]["state"] == "failing"

        info = json.loads((await client.request("$SRV.INFO.edgenats-sensors", b"", timeout=5)).data)
        assert info["name"] == "edgenats-sensors" and info["metadata"] == {"site": "site1", "node": "pi1"}
        assert {(e["name"], e["subject"]) for e in info["endpoints"]} == {
            ("read-now", "site1.pi1.sensors.read-now"), ("set-interval", "site1.pi1.sensors.set-interval"),
            ("status", "site1.pi1.sensors.status")}
        ping = json.loads((await client.request("$SRV.PING", b"", timeout=5)).data)
        assert (ping["name"], ping["id"]) == ("edgenats-sensors", info["id"])
    finally:
        await client.close()


def test_every_config_mistake_is_named_and_the_service_does_not_start(sensor_service):
    config = sensors_config("nats://127.0.0.1:1", [
        {"name": "greenhouse", "type": "bmp180", "bus": 1, "address": 0x77, "gain": 2},
        {"name": "greenhouse", "type": "sht31", "bus": -1, "address": 0x80, "interval_s": 0},
    ], stream="sometimes")
    del config["node"]
    service = sensor_service(config)
    assert service.process.wait(10) == 2
    assert service.log_text().splitlines() == [f"edgenats-sensors: {service.config_path}: {line}" for line in [
        "node: a name of letters, digits, '-' and '_'",
        "stream: one of auto, always, never",
        "sensors[0].gain: unknown setting",
        "sensors[0].type: one of bme280, sht31",
        "sensors[1].name: 'greenhouse' is named twice",
        "sensors[1].bus: the I2C bus number (N of /dev/i2c-N)",
        "sensors[1].address: a 7-bit I2C address, 3 to 119 (0x03 to 0x77)",
        "sensors[1].interval_s: a number of seconds above 0",
    ]]
