"""The site dashboard in a real browser: headless Chromium (Debian's, over the DevTools protocol)
opens http://127.0.0.1:<monitor port>/dashboard/ of a running site (two devices, a leaf link to a
nats-server hub, a stream with a consumer, a micro service) and the numbers it renders are checked
against the JSON endpoints; the rate chart follows a burst of messages; at phone width nothing
overflows the screen. Screenshots at desktop and phone widths are saved as test artifacts in
`<pytest basetemp>/artifacts/dashboard/`. nats-server has no dashboard (its `/` is the index of
endpoints, which edgenats keeps, with a link to the dashboard).

Without /usr/bin/chromium (or $CHROMIUM) the tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import asyncio
import urllib.request
from pathlib import Path

import pytest
from devtools_browser import rounds_done
from monitor_http import start_monitored
from nats import micro
from site_scene import ACKED, DEVICES, FETCHED, READINGS, running_site

DESKTOP = (1280, 900, False)
PHONE = (390, 844, True)
REFRESH_S = 0.3
BURST = 1000


@pytest.fixture
def artifacts(tmp_path_factory) -> Path:
    folder = tmp_path_factory.getbasetemp() / "artifacts" / "dashboard"
    folder.mkdir(parents=True, exist_ok=True)
    return folder




def rows_of(panel: str) -> str:
    """JavaScript: the rows of the tables in a panel as {key: {field: text}}."""
    return f"""Object.fromEntries([...document.querySelectorAll("{panel} tbody tr")].map((tr) => [tr.dataset.key,
      Object.fromEntries([...tr.cells].map((td) => [td.dataset.field, td.textContent]))]))"""


def count(text: str) -> int:
    return int(text.replace(",", ""))


def human_bytes(size: float) -> str:
    """The page's byte format."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{round(size)} B"


def from_human(text: str) -> float:
    number, unit = text.split()
    return float(number) * {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}[unit]


async def test_dashboard_shows_the_site_as_the_json_endpoints_do(server_factory, tmp_path, browser, artifacts):
    async with running_site(server_factory, tmp_path) as site:
        monitor = site.broker.monitor
        meter = await micro.add_service(site.devices[1], name="flow-meter", version="1.4.0")

        async def read(request):
            await request.respond(b"12.5")

        await meter.add_endpoint(name="read", handler=read, subject="flow.read")
        for _ in range(2):
            await site.devices[0].request("flow.read", b"", timeout=5)

        url = f"http://127.0.0.1:{monitor.port}/dashboard?refresh={REFRESH_S}"
        await browser.set_viewport(*DESKTOP)
        await browser.open(url)
        await browser.evaluate(rounds_done(2))
        assert await browser.evaluate("location.pathname + location.search") == f"/dashboard/?refresh={REFRESH_S}"
        assert await browser.evaluate('document.getElementById("refresh-seconds").textContent') == str(REFRESH_S)

        page = await browser.evaluate(f"""({{
          name: document.getElementById("server-name").textContent,
          identity: document.getElementById("identity").textContent,
          access: document.getElementById("access").textContent,
          local: document.getElementById("access").dataset.local,
          connections: document.querySelector('[data-metric="connections"]').textContent,
          connectionRows: {rows_of("#connections")},
          leafRows: {rows_of("#leafs")},
          streams: {rows_of("#streams")},
          consumers: {rows_of("#consumers")},
          services: {rows_of("#services")},
          storage: Object.fromEntries([...document.querySelectorAll('[data-key="store_disk"] [data-field]')]
            .map((span) => [span.dataset.field, span.textContent])),
          problem: document.getElementById("problem").hidden,
        }})""")
        varz, connz, leafz, jsz = await asyncio.to_thread(lambda: (
            monitor.get("/varz"), monitor.get("/connz"), monitor.get("/leafz"),
            monitor.get("/jsz?accounts=true&streams=true&consumers=true")))

        assert page["problem"] is True, browser.console
        assert page["name"] == varz["server_name"] == "site-pi"
        assert varz["server_id"] in page["identity"]
        assert page["local"] == "true"
        assert f"bound to 127.0.0.1:{monitor.port}, this machine only" in page["access"]
        assert count(page["connections"]) == varz["connections"] == len(DEVICES)

        # Devices by name, with the counters /connz reports for them.
        clients = {str(c["cid"]): c for c in connz["connections"] if c["kind"] == "Client"}
        assert set(page["connectionRows"]) == set(clients)
        for cid, row in page["connectionRows"].items():
            client = clients[cid]
            assert row["name"] == client["name"] and row["lang"] == client["lang"] == "python3"
            assert row["address"] == f"127.0.0.1:{client['port']}"
            assert count(row["subscriptions"]) == client["subscriptions"]
        quiet = next(c for c in clients.values() if c["name"] == DEVICES[0])
        quiet_row = page["connectionRows"][str(quiet["cid"])]
        assert (count(quiet_row["in_msgs"]), count(quiet_row["out_msgs"])) == (quiet["in_msgs"], quiet["out_msgs"])

        # The leaf link: the hub, connected, its round trip.
        (link,) = leafz["leafs"]
        hub_row = page["leafRows"]["hub"]
        assert (hub_row["state"], hub_row["peer"]) == ("connected", "hub")
        assert hub_row["url"] == leafz["remotes"][0]["urls"][0]
        assert hub_row["rtt"].endswith("s") and hub_row["backlog"] == "0" and hub_row["limit"] == "unpaced"

        # The stream and its consumer.
        (account,) = jsz["account_details"]
        (stream,) = account["stream_detail"]
        stream_row = page["streams"]["$G/READINGS"]
        assert count(stream_row["messages"]) == stream["state"]["messages"] == READINGS
        assert stream_row["bytes"] == human_bytes(stream["state"]["bytes"])
        assert count(stream_row["last_seq"]) == READINGS and count(stream_row["consumers"]) == 1
        consumer_row = page["consumers"]["READINGS/uplink"]
        assert count(consumer_row["num_pending"]) == READINGS - FETCHED
        assert count(consumer_row["num_ack_pending"]) == FETCHED - ACKED
        assert count(consumer_row["ack_floor"]) == ACKED
        disk = varz["jetstream"]["store_disk"]
        assert page["storage"]["total"] == human_bytes(disk["total"])
        # Other processes write to this disk meanwhile: free and used agree to a percent.
        assert abs(from_human(page["storage"]["free"]) - disk["free"]) <= disk["total"] / 100
        assert abs(from_human(page["storage"]["used"]) - disk["used"]) <= disk["total"] / 100
        assert page["storage"]["storage"] == human_bytes(jsz["storage"])

        # The service a device runs, with its own counts.
        service_row = page["services"][f"flow-meter/{meter.id}/read"]
        assert (service_row["version"], service_row["subject"]) == ("1.4.0", "flow.read")
        assert count(service_row["requests"]) == meter.stats().endpoints[0].num_requests == 2
        assert service_row["errors"] == "0"

        # A burst of messages stands out in the message-rate chart (the quiet rate is a few msg/s: the
        # service's answers to the page's discovery).
        peak_js = 'Number(document.querySelector("#chart-msgs [data-max]").dataset.max)'
        seen = await browser.evaluate(rounds_done(0))
        quiet_peak = await browser.evaluate(peak_js)
        for _ in range(BURST):
            await site.devices[0].publish("site.burst", b"x" * 16)
        await site.devices[0].flush()
        await browser.evaluate(rounds_done(seen + 2))
        peak = await browser.evaluate(peak_js)
        points = await browser.evaluate('document.querySelector("#chart-msgs polyline.in").getAttribute("points")')
        assert peak > 10 * quiet_peak and peak >= 100, (quiet_peak, peak)
        assert len(points.split()) >= 3

        await browser.screenshot(artifacts / "dashboard-desktop.png")
        await browser.set_viewport(*PHONE)
        await browser.evaluate(rounds_done(seen + 3))
        overflow = await browser.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than a phone screen"
        await browser.screenshot(artifacts / "dashboard-phone.png")
        assert not [line for line in browser.console if line.startswith("exception")], browser.console


async def test_dashboard_without_jetstream_or_leafs_says_not_configured(server_factory, browser):
    monitor = start_monitored(server_factory, "edgenats").monitor
    await browser.set_viewport(*PHONE)
    await browser.open(f"http://127.0.0.1:{monitor.port}/dashboard/?refresh={REFRESH_S}")
    await browser.evaluate(rounds_done(1))
    panels = await browser.evaluate("""({
      leafs: document.querySelector("#leafs .panel").textContent,
      jetstream: document.querySelector("#jetstream .panel").textContent,
      services: document.querySelector("#services .panel").textContent,
      connections: document.querySelector("#connections .panel").textContent,
    })""")
    assert panels == {"leafs": "Leaf links: not configured.", "jetstream": "JetStream: not configured.",
                      "services": "No services answered $SRV discovery.", "connections": "No clients connected."}


def test_dashboard_files_come_from_the_broker_with_a_same_origin_policy(server_factory):
    monitor = start_monitored(server_factory, "edgenats").monitor
    moved = monitor.request("/dashboard")
    assert (moved.status, moved.headers["location"]) == (301, "dashboard/")
    assert monitor.request("/dashboard?refresh=5").headers["location"] == "dashboard/?refresh=5"
    page = monitor.request("/dashboard/")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    for name, kind in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
        reply = monitor.request(f"/dashboard/{name}")
        assert reply.status == 200 and reply.headers["content-type"].startswith(kind)
        assert b"http://" not in reply.body.replace(b"http://www.w3.org/2000/svg", b"")
    assert monitor.request("/dashboard/../varz").status in (200, 404)
    assert monitor.request("/dashboard/secrets.txt").status == 404
    index = urllib.request.urlopen(f"http://127.0.0.1:{monitor.port}/", timeout=5).read().decode()
    assert 'href="./dashboard/"' in index
