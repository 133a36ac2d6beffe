"""The sensor service's run: connect to the broker (again and again until it answers, then nats-py
reconnects forever), one Bus per bus number, one task per sensor, the publisher's task, the micro
service; stop on request (SIGTERM, SIGINT), giving the outbox a moment to empty.

Each run draws a boot id: with a sensor's seq (from 1 each run) it makes Nats-Msg-Ids no earlier run
used, so a restart of the service inside the stream's duplicate window loses nothing either."""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal

import nats.errors
from nats.aio.client import Client

from edgenats.sensors.bus import Bus
from edgenats.sensors.commands import SERVICE_NAME, add_sensor_service
from edgenats.sensors.config import ServiceConfig
from edgenats.sensors.publisher import Publisher, describe
from edgenats.sensors.sensor import Sensor

RECONNECT_WAIT_S = 0.5
FIRST_CONNECT_RETRY_MAX_S = 10.0
STOP_FLUSH_S = 2.0

log = logging.getLogger("edgenats.sensors")


async def run_service(config: ServiceConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    boot_id = secrets.token_hex(4)
    client = await connect(config)
    publisher = Publisher(client, config.stream, config.node, boot_id,
                          sorted({sensor.subject for sensor in config.sensors}))
    buses = {number: Bus(number) for number in sorted({sensor.bus for sensor in config.sensors})}
    sensors = {entry.name: Sensor(entry, buses[entry.bus], publisher.put) for entry in config.sensors}
    service = await add_sensor_service(client, config, sensors)
    log.info("%s %s (boot id %s) on %s: %s; commands on %s.*", SERVICE_NAME, service.id, boot_id,
             client.connected_url.netloc if client.connected_url else "?",
             ", ".join(f"{s.name} ({s.type}, bus {s.bus}, 0x{s.address:02x}) -> {s.subject}" for s in config.sensors),
             config.command_prefix)
    sending = asyncio.create_task(publisher.run(), name="publisher")
    reading = [asyncio.create_task(sensor.run(), name=f"sensor {name}") for name, sensor in sensors.items()]
    stopping = asyncio.create_task(stop.wait())
    try:
        # The loops run until cancelled: one that ends has a bug, and the service stops for systemd to
        # restart it rather than go on without it.
        done, _ = await asyncio.wait([stopping, sending, *reading], return_when=asyncio.FIRST_COMPLETED)
        for task in done - {stopping}:
            log.error("%s ended: %r", task.get_name(), task.exception() if not task.cancelled() else "cancelled",
                      exc_info=task.exception() if not task.cancelled() else None)
            raise SystemExit(1)
        log.info("stopping")
    finally:
        stopping.cancel()
        for task in reading:
            task.cancel()
        await asyncio.gather(*reading, return_exceptions=True)
        await publisher.flush(STOP_FLUSH_S)
        if publisher.pending():
            log.warning("stopping with %d readings not stored", publisher.pending())
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
        await service.stop()
        await client.close()
        for bus in buses.values():
            bus.close()


async def connect(config: ServiceConfig) -> Client:
    """A nats-py client of the broker, waiting for the first connection as long as it takes."""

    async def disconnected() -> None:
        if not client.is_closed:  # nats-py says so on close() as well
            log.warning("disconnected from the broker; reconnecting")

    async def reconnected() -> None:
        log.info("reconnected to %s", client.connected_url.netloc if client.connected_url else "the broker")

    async def error(problem: Exception) -> None:
        # A refused permission is the operator's to fix; the rest (a reconnect attempt that failed) is noise.
        level = logging.WARNING if "permissions violation" in str(problem).lower() else logging.DEBUG
        log.log(level, "broker: %s", describe(problem))

    delay = RECONNECT_WAIT_S
    while True:
        client = Client()
        try:
            await client.connect(servers=list(config.servers), user=config.user, password=config.password,
                                 user_credentials=config.creds, name=SERVICE_NAME, connect_timeout=2,
                                 max_reconnect_attempts=-1, reconnect_time_wait=RECONNECT_WAIT_S,
                                 disconnected_cb=disconnected, reconnected_cb=reconnected, error_cb=error)
            return client
        except (OSError, TimeoutError, nats.errors.Error) as problem:
            log.warning("cannot connect to %s: %s; trying again in %gs", ", ".join(config.servers),
                        describe(problem), delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, FIRST_CONNECT_RETRY_MAX_S)
