"""The NATS micro service `edgenats-sensors` (nats-py's `nats.micro`: `$SRV.PING/INFO/STATS` find it)
and its endpoints under `<site>.<node>.sensors.`:

- `read-now`: `{"sensor": NAME}` -> a fresh reading of that sensor (an error reading when it fails),
  published on its subject as well;
- `set-interval`: `{"sensor": NAME, "interval_s": SECONDS}` -> the sensor's status with its new pace;
- `status`: -> a JSON list, one entry per sensor: name, type, bus, address, subject, interval_s,
  state, last (the last reading or error reading), readings, errors.

A request the service cannot act on (not JSON, no such sensor, a bad interval) is answered with the
micro error headers (code 400 or 404), as `nats micro` clients read them.
"""

from __future__ import annotations

import json

from nats import micro
from nats.aio.client import Client
from nats.micro.request import ServiceError

from edgenats import __version__
from edgenats.sensors.config import ServiceConfig, is_interval
from edgenats.sensors.sensor import Sensor

SERVICE_NAME = "edgenats-sensors"


async def add_sensor_service(client: Client, config: ServiceConfig, sensors: dict[str, Sensor]) -> micro.Service:
    service = await micro.add_service(
        client, name=SERVICE_NAME, version=__version__,
        description="sensors on the Pi's I2C pins", metadata={"site": config.site, "node": config.node})

    async def read_now(request: micro.Request) -> None:
        sensor = _sensor(sensors, _json_object(request.data))
        await request.respond(json.dumps(await sensor.read_now()).encode())

    async def set_interval(request: micro.Request) -> None:
        asked = _json_object(request.data)
        sensor = _sensor(sensors, asked)
        seconds = asked.get("interval_s")
        if not is_interval(seconds):
            raise ServiceError("400", "interval_s: a number of seconds above 0")
        sensor.set_interval(float(seconds))
        await request.respond(json.dumps(sensor.status()).encode())

    async def status(request: micro.Request) -> None:
        await request.respond(json.dumps([sensor.status() for sensor in sensors.values()]).encode())

    prefix = config.command_prefix
    for name, handler in (("read-now", read_now), ("set-interval", set_interval), ("status", status)):
        await service.add_endpoint(name=name, subject=f"{prefix}.{name}", handler=handler)
    return service


def _json_object(data: bytes) -> dict:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        value = None
    if not isinstance(value, dict):
        raise ServiceError("400", "the request must be a JSON object")
    return value


def _sensor(sensors: dict[str, Sensor], asked: dict) -> Sensor:
    name = asked.get("sensor")
    if not isinstance(name, str) or name not in sensors:
        raise ServiceError("404", f"no sensor named {name!r}; sensors: {', '.join(sensors)}")
    return sensors[name]
