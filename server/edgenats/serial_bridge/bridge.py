"""The bridge's wiring: the broker connection (tried until it answers, or a signal), one `port.SerialPort`
and one `board.BoardSession` per configured port, the relay and the status service, until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal

import nats

from edgenats.serial_bridge.board import BoardSession
from edgenats.serial_bridge.config import BridgeConfig
from edgenats.serial_bridge.port import SerialPort
from edgenats.serial_bridge.relay import Relay
from edgenats.serial_bridge.status import port_status, start_service

log = logging.getLogger("edgenats.serial")


async def run(cfg: BridgeConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def disconnected() -> None:
        if not stop.is_set():
            log.warning("broker connection lost; reconnecting")

    async def reconnected() -> None:
        log.info("broker connection back")

    async def error(e: Exception) -> None:
        log.warning("broker: %s", e)

    # With max_reconnect_attempts=-1 nats-py keeps trying the first connection too (each failure goes to
    # error_cb); a signal meanwhile ends the attempt.
    connecting = asyncio.create_task(nats.connect(
        cfg.servers, user=cfg.user, password=cfg.password, user_credentials=cfg.creds,
        name=f"edgenats-serial {cfg.site}.{cfg.node}", max_reconnect_attempts=-1, reconnect_time_wait=1,
        connect_timeout=2, allow_reconnect=True, disconnected_cb=disconnected, reconnected_cb=reconnected,
        error_cb=error))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not connecting.done():
        connecting.cancel()
        await asyncio.gather(connecting, return_exceptions=True)
        return
    nc = connecting.result()
    relay = Relay(nc, cfg.stream)
    bridge_id = secrets.token_hex(4)
    ports: list[tuple[SerialPort, BoardSession]] = []
    for entry in cfg.ports:
        session = BoardSession(entry.path, relay, bridge_id)
        port = SerialPort(entry.path, entry.baud, session.opened, session.received, session.closed)
        ports.append((port, session))

    service = await start_service(nc, cfg.status_subject, cfg.site, cfg.node,
                                  lambda: [port_status(port, session) for port, session in ports])
    tasks = [asyncio.create_task(port.run()) for port, _ in ports]
    log.info("edgenats-serial: %d port(s), status on %s", len(ports), cfg.status_subject)
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for _, session in ports:
        await session.stop()
    await service.stop()
    await nc.drain()
