"""`edgenats micro ls|info|stats` against both servers: nats-py micro services (two instances of a
thermostat, one pump whose endpoint fails) answer `$SRV` discovery, and the commands show each
instance with its endpoints, request counts, errors and processing times as the services themselves
count them (nats-py's own `Service.stats()`)."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager

import nats
from nats import micro
from nats.micro.request import ServiceError
from operator_cli import run_cli


@asynccontextmanager
async def site_services(url: str):
    clients = [await nats.connect(url, name=name) for name in ("thermostat-a", "thermostat-b", "pump-1")]

    async def read(request):
        await request.respond(b'{"celsius": 21.5}')

    async def set_point(request):
        await request.respond(b"ok")

    async def start(request):
        raise ServiceError("503", "pump is dry")

    services = []
    for client in clients[:2]:
        service = await micro.add_service(client, name="thermostat", version="1.2.0",
                                          description="greenhouse thermostat")
        await service.add_endpoint(name="read", handler=read, subject="thermostat.read")
        await service.add_endpoint(name="set", handler=set_point, subject="thermostat.set")
        services.append(service)
    pump = await micro.add_service(clients[2], name="pump", version="0.3.1", description="irrigation pump",
                                   metadata={"site": "north"})
    await pump.add_endpoint(name="start", handler=start, subject="pump.start", queue_group="pumps")
    services.append(pump)
    caller = await nats.connect(url, name="caller")
    try:
        for _ in range(3):
            await caller.request("thermostat.read", b"", timeout=5)
        await caller.request("pump.start", b"", timeout=5)
        await caller.request("pump.start", b"", timeout=5)
        yield services
    finally:
        for client in [caller, *clients]:
            await client.close()


def micro_cli(url: str, *args: str):
    return asyncio.to_thread(run_cli, "-s", url, "micro", *args, "--timeout", "0.5s")


async def test_micro_ls_info_stats_show_every_instance(server):
    async with site_services(server.url) as services:
        thermostat_a, thermostat_b, pump = services

        # Four operators at once; each command gathers on its own inbox.
        listed, info, stats, as_json = await asyncio.gather(
            micro_cli(server.url, "ls"), micro_cli(server.url, "info", "pump"),
            micro_cli(server.url, "stats", "thermostat"), micro_cli(server.url, "ls", "thermostat", "--json"))
        assert listed.returncode == 0, listed.stderr
        title, _, header, _, *rows = listed.stdout.splitlines()
        assert title == "All Micro Services"
        assert header.split() == ["NAME", "VERSION", "ID", "ENDPOINTS", "DESCRIPTION"]
        ids = sorted([thermostat_a.id, thermostat_b.id])
        assert rows[0].split() == ["pump", "0.3.1", pump.id, "start", "irrigation", "pump"]
        assert rows[1].split() == ["thermostat", "1.2.0", ids[0], "read,", "set", "greenhouse", "thermostat"]
        # Repeated name, version and description are shown once, as nats micro ls does.
        assert rows[2].split() == [ids[1], "read,", "set"]

        assert info.returncode == 0, info.stderr
        counted = pump.stats().endpoints[0]
        assert f"  Service:      pump ({pump.id})" in info.stdout.splitlines()
        assert "  Metadata:     site=north" in info.stdout
        assert "  start on pump.start (queue pumps)" in info.stdout
        assert f"    Requests:         {counted.num_requests}" in info.stdout
        assert f"    Errors:           {counted.num_errors}" in info.stdout
        assert counted.num_errors == 2
        assert f"    Last error:       {counted.last_error}" in info.stdout
        assert "pump is dry" in counted.last_error

        assert stats.returncode == 0, stats.stderr
        title, _, header, _, *rows = stats.stdout.splitlines()
        assert title == "thermostat Service Statistics"
        assert header.split()[:5] == ["NAME", "ID", "ENDPOINT", "REQUESTS", "ERRORS"]
        reads = {row.split()[1]: int(row.split()[3]) for row in rows if row.split()[2:3] == ["read"]}
        by_id = {service.id: service.stats().endpoints[0].num_requests for service in (thermostat_a, thermostat_b)}
        assert reads == by_id and sum(reads.values()) == 3
        assert rows[-1].split()[:3] == ["total", "3", "0"]

        instances = json.loads(as_json.stdout)
        assert [instance["id"] for instance in instances] == ids
        assert [endpoint["subject"] for endpoint in instances[0]["endpoints"]] == ["thermostat.read", "thermostat.set"]
        assert all(endpoint["num_errors"] == 0 for endpoint in instances[0]["endpoints"])


async def test_micro_names_a_missing_service(server):
    missing = await micro_cli(server.url, "stats", "no-such-service")
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'edgenats: error: no micro service named "no-such-service" answered within 0.5s'
