"""The bridge as a NATS micro service named `edgenats-serial` (found by `$SRV.PING/INFO/STATS`), whose
`status` endpoint (`<site>.<node>.serial.status`) answers a JSON list with one entry per configured port:
its path, state (open / closed / waiting), the board's device_id once it said hello, lines in and out,
acks, and the last error."""

from __future__ import annotations

import json
from collections.abc import Callable

from nats.aio.client import Client
from nats.micro import add_service
from nats.micro.service import Service

from edgenats import __version__
from edgenats.serial_bridge import SERVICE_NAME
from edgenats.serial_bridge.board import BoardSession
from edgenats.serial_bridge.port import PortState, SerialPort


def port_status(port: SerialPort, session: BoardSession) -> dict:
    """One port's entry: the port's own facts, its board's, and the last error of whichever matters now
    (the port's while it is not open, else the board session's)."""
    entry = {"path": port.path, "baud": port.baud, "state": port.state.value, "opened": port.opened,
             **session.status()}
    if port.state is not PortState.OPEN and port.last_error:
        entry["last_error"] = port.last_error
    return entry


async def start_service(nc: Client, subject: str, site: str, node: str,
                        ports: Callable[[], list[dict]]) -> Service:
    service = await add_service(nc, name=SERVICE_NAME, version=__version__,
                                description="boards on serial ports, relayed to NATS",
                                metadata={"site": site, "node": node})

    async def status(request) -> None:
        await request.respond(json.dumps(ports()).encode())

    await service.add_endpoint(name="status", subject=subject, handler=status)
    return service
