"""/servicez (edgenats' own endpoint; nats-server answers 404): the broker gathers `$SRV` discovery
itself, so the dashboard can show the site's services. A device service on the site broker and a
service on the hub, reached across the leaf link, are both listed with the counts the services
themselves keep (nats-py's `Service.stats()`), and the same instances `edgenats micro ls` finds.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import nats
from nats import micro
from site_scene import running_site


async def test_servicez_lists_site_and_hub_services(server_factory, tmp_path):
    async with running_site(server_factory, tmp_path) as site:
        device = site.devices[0]
        hub_client = await nats.connect(site.hub.url, name="hub-archiver")
        try:
            async def answer(request):
                await request.respond(b"ok")

            async def refuse(request):
                raise micro.ServiceError("400", "unknown valve")

            valve = await micro.add_service(device, name="valve", version="2.0.0", description="pump-house valve")
            await valve.add_endpoint(name="open", handler=answer, subject="valve.open")
            await valve.add_endpoint(name="close", handler=refuse, subject="valve.close")
            archive = await micro.add_service(hub_client, name="archive", version="1.0.0")
            await archive.add_endpoint(name="store", handler=answer, subject="archive.store")
            caller = site.devices[1]
            await caller.request("valve.open", b"", timeout=5)
            await caller.request("valve.close", b"", timeout=5)

            async def archive_reachable() -> dict:
                # The hub service's subscriptions cross the link a moment after it starts.
                while True:
                    document = await asyncio.to_thread(site.broker.monitor.get, "/servicez")
                    if len(document["services"]) == 2:
                        return document
                    await asyncio.sleep(0.05)

            servicez = await asyncio.wait_for(archive_reachable(), 15)
            archive_entry, valve_entry = servicez["services"]
            assert (archive_entry["name"], archive_entry["id"]) == ("archive", archive.id)
            assert archive_entry["account"] == valve_entry["account"] == "$G"
            assert (valve_entry["name"], valve_entry["id"], valve_entry["version"]) == ("valve", valve.id, "2.0.0")
            counted = {endpoint.name: endpoint for endpoint in valve.stats().endpoints}
            for endpoint in valve_entry["endpoints"]:
                mine = counted[endpoint["name"]]
                assert (endpoint["num_requests"], endpoint["num_errors"]) == (mine.num_requests, mine.num_errors)
                assert endpoint["average_processing_time"] == mine.average_processing_time
            assert [e["subject"] for e in valve_entry["endpoints"]] == ["valve.open", "valve.close"]
            assert valve_entry["endpoints"][1]["last_error"] == counted["close"].last_error

            listed = await asyncio.to_thread(
                subprocess.run, [sys.executable, "-m", "edgenats.cli.operator_main", "-s", site.broker.server.url,
                                 "micro", "ls", "--json", "--timeout", "0.4s"], capture_output=True, timeout=30)
            assert [(i["name"], i["id"]) for i in json.loads(listed.stdout)] == \
                [(s["name"], s["id"]) for s in servicez["services"]]
        finally:
            await hub_client.close()


def test_servicez_with_no_services_is_an_empty_list(server_factory):
    from monitor_http import start_monitored

    monitor = start_monitored(server_factory, "edgenats").monitor
    document = monitor.get("/servicez")
    assert document["services"] == []
    assert document["server_id"] == monitor.get("/varz")["server_id"]
