"""`edgenats sensors ls` against both brokers: the sensor service found by `$SRV` discovery and asked on
its status endpoint; a table row per sensor with its last error, `--json` the service's own answer;
with no service, one line saying so."""

from __future__ import annotations

import asyncio
import json

import nats
from cli.operator_cli import run_cli
from sensors_process import sensors_config

SENSORS = [{"name": "greenhouse", "type": "bme280", "bus": 97, "address": 0x76, "interval_s": 30},
           {"name": "shed", "type": "sht31", "bus": 98, "address": 0x44, "interval_s": 45}]


async def test_sensors_ls_shows_each_sensor_of_the_service(server, sensor_service):
    missing = await asyncio.to_thread(run_cli, "-s", server.url, "sensors", "ls", "--timeout", "0.2s")
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == "edgenats: error: no edgenats-sensors service answered within 0.2s\n"

    service = sensor_service(sensors_config(server.url, SENSORS, stream="never"))
    for name in ("greenhouse", "shed"):  # each sensor's first attempt failed; the next is a minute away
        service.wait_for_log(rf"sensor {name} .*; retrying in")
    listed, as_json = await asyncio.gather(
        asyncio.to_thread(run_cli, "-s", server.url, "sensors", "ls", "--timeout", "0.3s"),
        asyncio.to_thread(run_cli, "sensors", "ls", "--json", "--timeout", "0.3s", "-s", server.url))
    assert listed.returncode == 0, listed.stderr
    header, _, *rows = listed.stdout.splitlines()
    assert header.split() == ["NODE", "SENSOR", "TYPE", "BUS", "ADDRESS", "INTERVAL", "READINGS", "ERRORS",
                              "SUBJECT", "LAST"]
    assert [row.split(maxsplit=9) for row in rows] == [
        ["site1.pi1", "greenhouse", "bme280", "97", "0x76", "30s", "0", "1", "site1.pi1.greenhouse",
         "error: I2C Bus #97 not found, check if enabled in config!"],
        ["site1.pi1", "shed", "sht31", "98", "0x44", "45s", "0", "1", "site1.pi1.shed",
         "error: I2C Bus #98 not found, check if enabled in config!"]]

    assert as_json.returncode == 0, as_json.stderr
    client = await nats.connect(server.url)
    try:
        direct = await client.request("site1.pi1.sensors.status", b"", timeout=5)
    finally:
        await client.close()
    assert json.loads(as_json.stdout) == json.loads(direct.data)
