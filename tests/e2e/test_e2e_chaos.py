"""Store-and-forward end to end, through chaos: two devices (the device app on virtual boards, readings kept on
flash until the edge stream's PubAck) publish a numbered reading every 5 ms into the edge's TELEMETRY stream,
which a real nats-server hub sources into AGG across the leaf link. Meanwhile, on a seeded random schedule
printed in the output: the uplink fails 20 times (the hub killed with kill -9 and restarted 10 times; the
link blackholed without FIN 10 times, half of them ending in a reset, half carrying on), the edge broker is
killed with kill -9 and restarted 5 times, and each device loses its Wi-Fi 5 times and reboots (power cut)
twice. At the end the hub holds every reading the devices made, exactly once, in order per device. The edge
is edgenats, or a real nats-server to show both behave alike.

Run with -m chaos (about two minutes per edge kind); E2E_CHAOS_SEED=<n> replays a schedule.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from dataclasses import dataclass

import nats
import pytest
from e2e_site import EDGE_STREAM, HUB_STREAM, Device, Site, stop_readings, stored_readings, stream_count
from leaf_helpers import monitor_get

pytestmark = pytest.mark.chaos

# A reading every 5 ms per device (about 12,000 each in a run). The app sends one reading at a time and waits
# for its PubAck; unats writes a small publish in one write, so no round trip waits out a delayed ACK, and a
# device's outbox drains faster than it fills, even after an outage.
INTERVAL_S = 0.005
HUB_KILLS, BLACKHOLES, STALLS, EDGE_KILLS = 10, 5, 5, 5
WIFI_DROPS, REBOOTS = 5, 2
DEVICES = ("d1", "d2")
# nats-server's hub re-creates a silent source after 10 s, checking every 10 s, and waits 10 s more for each
# failed create in a row (up to 2 minutes): converging took 1 to 40 s here, alike with either edge.
CONVERGE_WAIT = 150.0


@dataclass
class Event:
    kind: str  # hub-kill, blackhole, stall, edge-kill, wifi-off, wifi-off-silent, reboot
    target: str  # "uplink" or a device id
    outage: float  # seconds down
    gap: float  # seconds of normal running before the event


def schedule(rng: random.Random) -> dict[str, list[Event]]:
    """One track for the uplink and the edge, one per device; the tracks run side by side."""
    kinds = ["hub-kill"] * HUB_KILLS + ["blackhole"] * BLACKHOLES + ["stall"] * STALLS + ["edge-kill"] * EDGE_KILLS
    rng.shuffle(kinds)
    tracks = {"uplink": [Event(kind, "uplink", round(rng.uniform(0.5, 2.0), 2), round(rng.uniform(0.5, 2.0), 2))
                         for kind in kinds]}
    for device in DEVICES:
        kinds = ["wifi-off", "wifi-off-silent"] * (WIFI_DROPS // 2) + ["wifi-off"] * (WIFI_DROPS % 2)
        kinds += ["reboot"] * REBOOTS
        rng.shuffle(kinds)
        tracks[device] = [Event(kind, device, round(rng.uniform(1.0, 2.0), 2), round(rng.uniform(3.0, 8.0), 2))
                          for kind in kinds]
    return tracks


class Chaos:
    """Plays the schedule against the site and its devices, without waiting for recovery between events."""

    def __init__(self, site: Site, devices: dict[str, Device]):
        self.site = site
        self.devices = devices
        self.done: Counter[str] = Counter()

    async def play(self, events: list[Event]) -> None:
        for event in events:
            await asyncio.sleep(event.gap)
            await getattr(self, event.kind.replace("-", "_"))(event)
            self.done[event.kind] += 1

    async def hub_kill(self, event: Event) -> None:
        self.site.kill_hub()
        await asyncio.sleep(event.outage)
        await asyncio.to_thread(self.site.start_hub)

    async def edge_kill(self, event: Event) -> None:
        self.site.kill_edge()
        await asyncio.sleep(event.outage)
        await asyncio.to_thread(self.site.start_edge)

    async def blackhole(self, event: Event) -> None:
        self.site.uplink.blackhole()
        await asyncio.sleep(event.outage)
        self.site.uplink.mend()

    async def stall(self, event: Event) -> None:
        self.site.uplink.stall()
        await asyncio.sleep(event.outage)
        self.site.uplink.mend()

    async def wifi_off(self, event: Event, silent: bool = False) -> None:
        access_point = self.devices[event.target].ap
        access_point.off(silent=silent)
        await asyncio.sleep(event.outage)
        access_point.on()

    async def wifi_off_silent(self, event: Event) -> None:
        await self.wifi_off(event, silent=True)

    async def reboot(self, event: Event) -> None:
        await asyncio.to_thread(self.devices[event.target].board.power_cycle)


async def until(check, what: str, timeout: float, site: Site, devices: dict[str, Device]) -> float:
    """Awaits check() (a coroutine function) until it is true; returns the seconds it took. Fails with the
    state of the site when it does not come true in time."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not await check():
        for device in devices.values():
            assert device.running(), f"{device.device_id}'s app stopped\n{device.board.console_text()[-1500:]}"
        if loop.time() - started > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{await site_state(site, devices)}")
        await asyncio.sleep(0.25)
    return loop.time() - started


async def site_state(site: Site, devices: dict[str, Device]) -> str:
    """What the streams hold, each outbox's (kept, acked), the messages crossing the edge for a second, the
    edge's client connections and leaf links."""
    lines = [f"edge {EDGE_STREAM}: {await stream_count(site.edge_url, EDGE_STREAM)} messages, hub {HUB_STREAM}: "
             f"{await stream_count(site.hub_url, HUB_STREAM)} messages"]
    for device in devices.values():
        lines.append(f"{device.device_id} outbox (kept, acked) {device.outbox()}, console:\n"
                     f"{device.board.console_text()[-600:]}")
    nc = await nats.connect(site.edge_url)
    seen = []

    async def spy(msg):
        seen.append(f"{msg.subject} reply={msg.reply} {msg.headers} {msg.data[:60]!r}")

    await nc.subscribe(">", cb=spy)
    await asyncio.sleep(1)  # what crosses the edge now
    await nc.close()
    lines += seen[-20:]
    for path in ("/connz", "/leafz"):
        try:
            lines.append(f"edge {path}: {await asyncio.to_thread(monitor_get, site.edge_http_port, path)}")
        except OSError as error:
            lines.append(f"edge {path}: {error}")
    return "\n".join(lines)


def per_device(readings, device: str) -> list:
    return [reading for reading in readings if reading.device == device]


@pytest.fixture(params=[pytest.param("edgenats", id="edgenats-edge-nats-server-hub"),
                        pytest.param("nats-server", id="nats-server-edge")])
async def site(request, tmp_path):
    running = Site(tmp_path / "site", request.param)
    try:
        await running.start()
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def devices(site, tmp_path):
    made = {device_id: Device(tmp_path / "devices", device_id, site.edge_port) for device_id in DEVICES}
    yield made
    for device in made.values():
        await device.stop()


async def test_every_reading_reaches_the_hub_once_in_order_through_chaos(site, devices):
    seed = int(os.environ.get("E2E_CHAOS_SEED", random.randrange(1 << 32)))
    tracks = schedule(random.Random(seed))
    print(f"\nchaos seed {seed} (E2E_CHAOS_SEED={seed} replays it), edge: {site.edge_kind}")
    for name, events in tracks.items():
        print(f"  {name}: " + ", ".join(f"+{e.gap}s {e.kind} {e.outage}s" for e in events))
    for device in devices.values():
        await device.install(INTERVAL_S)

    async def both_devices_stored():
        return await stream_count(site.hub_url, HUB_STREAM) >= 2 * len(devices)

    await until(both_devices_stored, "the first readings at the hub", 60, site, devices)
    chaos = Chaos(site, devices)
    started = time.monotonic()
    await asyncio.gather(*(chaos.play(events) for events in tracks.values()))
    chaos_s = time.monotonic() - started

    # The devices' own count, final once they stop taking readings and their outboxes hold no unacked one. The
    # app takes the reading it had scheduled before the command (due within one interval), then no more.
    for device in devices.values():
        await stop_readings(site.edge_url, device)
    last_reading_due = time.monotonic() + INTERVAL_S + 1.0  # with room for a loaded machine

    async def outboxes_drained():
        return time.monotonic() > last_reading_due and all(
            kept == acked for kept, acked in (device.outbox() for device in devices.values()))

    drain_s = await until(outboxes_drained, "every reading's PubAck on the devices", 60, site, devices)
    made = {device_id: device.outbox()[0] for device_id, device in devices.items()}
    total = sum(made.values())

    async def hub_holds_all():
        return await stream_count(site.hub_url, HUB_STREAM) >= total

    converge_s = await until(hub_holds_all, f"the hub holding {total} readings", CONVERGE_WAIT, site, devices)
    edge = await stored_readings(site.edge_url, EDGE_STREAM)
    hub = await stored_readings(site.hub_url, HUB_STREAM)

    boots = {device_id: sum(r.app_seq == 1 for r in per_device(edge, device_id)) for device_id in devices}
    print(f"summary ({site.edge_kind} edge): readings {made} ({total}), events {dict(chaos.done)}, "
          f"chaos {chaos_s:.1f}s, outboxes drained {drain_s:.1f}s and hub converged {converge_s:.1f}s later; "
          f"edge stream {len(edge)}, hub stream {len(hub)}; app runs per device {boots}")
    assert chaos.done == Counter({"hub-kill": HUB_KILLS, "blackhole": BLACKHOLES, "stall": STALLS,
                                  "edge-kill": EDGE_KILLS,
                                  "wifi-off": len(DEVICES) * (WIFI_DROPS - WIFI_DROPS // 2),
                                  "wifi-off-silent": len(DEVICES) * (WIFI_DROPS // 2),
                                  "reboot": len(DEVICES) * REBOOTS})
    for device_id, count in made.items():
        numbers = list(range(1, count + 1))
        assert [r.number for r in per_device(edge, device_id)] == numbers, f"{device_id} at the edge"
        assert [r.number for r in per_device(hub, device_id)] == numbers, f"{device_id} at the hub"
        app_seqs = [r.app_seq for r in per_device(edge, device_id)]
        assert all(b in (a + 1, 1) for a, b in zip(app_seqs, app_seqs[1:], strict=False)), \
            f"{device_id}: a reading the app took was not kept (its outbox was full)"
    # The hub sourced each edge message once, in the edge's order.
    assert [r.source_seq for r in hub] == list(range(1, len(edge) + 1))
    assert [(r.device, r.number) for r in hub] == [(r.device, r.number) for r in edge]
