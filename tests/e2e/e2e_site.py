"""The end-to-end site: a real nats-server hub with JetStream (domain `hub`), an edge broker (edgenats or
nats-server, domain `site1`) linked to it through an uplink relay that can be cut or blackholed, and devices
(the device app on virtual boards, each behind its own Wi-Fi access point) storing readings in the edge's
TELEMETRY stream, which the hub's AGG stream sources. Every process is restartable on the same port and
store folder and is killed by its own pid.

The firmware and leaf-node helpers are reused as they are: VirtualBoard, AccessPoint and the device CLI from
tests/firmware, LinkCutter and the config snippets from tests/leafnode.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nats
from access_point import AccessPoint
from firmware_helpers import device_cli, write_config
from leaf_helpers import LinkCutter, hub_config, leaf_config, request_until_answered
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, ExternalStream, StreamConfig, StreamSource
from servers import RunningServer, free_port, start_server
from virtual_board import VirtualBoard

RADIO = Path(__file__).resolve().parents[1] / "firmware" / "radio" / "network.py"
SSID, PASSWORD = "site1-wifi", "sensors-42"
EDGE_STREAM, HUB_STREAM = "TELEMETRY", "AGG"
TELEMETRY = "devices.*.telemetry"
OUTBOX_RECORD = re.compile(rb"^([PA]) (\d+)[ \n]", re.MULTILINE)


class Uplink(LinkCutter):
    """The edge's way to the hub. Besides `cut()` (both ends see the connection drop), two blackholes, with no
    FIN or RST at their start: `blackhole()` swallows what either end sends (dials made meanwhile are held
    unanswered), and `mend()` ends it as a long one ends: the connections it swallowed are reset (each end
    gave up on them) and new ones are carried again; `stall()` reads nothing, so each end's TCP buffers fill
    as when packets are dropped and retransmitted, and `mend()` ends it as a short one ends: the same
    connections carry on with everything that was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.swallowing = False
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._held: list[asyncio.StreamWriter] = []

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.swallowing:
            self._held.append(writer)
            return
        try:
            await super()._relay(reader, writer)
        except OSError:  # the hub is down: the edge's dial is refused
            writer.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await self._flowing.wait()
                data = await reader.read(65536)
                if not data:
                    break
                if not self.swallowing:
                    writer.write(data)
                    await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()

    def blackhole(self) -> None:
        self.swallowing = True

    def stall(self) -> None:
        self._flowing.clear()

    def mend(self) -> None:
        if self.swallowing:
            self.cut()
            for writer in self._held:
                writer.transport.abort()
            self._held.clear()
            self.swallowing = False
        self._flowing.set()
        super().mend()


@dataclass
class Site:
    """The hub, the edge and the uplink between them; `start()` brings up both and the two streams."""

    workdir: Path
    edge_kind: str
    uplink: Uplink = field(default_factory=Uplink)
    hub_port: int = field(default_factory=free_port)
    hub_leaf_port: int = field(default_factory=free_port)
    edge_port: int = field(default_factory=free_port)
    edge_http_port: int = field(default_factory=free_port)
    uplink_port: int = 0
    hub: RunningServer | None = None
    edge: RunningServer | None = None
    runs: dict[str, int] = field(default_factory=lambda: {"hub": 0, "edge": 0})
    started: list[RunningServer] = field(default_factory=list)

    @property
    def hub_url(self) -> str:
        return f"nats://127.0.0.1:{self.hub_port}"

    @property
    def edge_url(self) -> str:
        return f"nats://127.0.0.1:{self.edge_port}"

    def _start(self, role: str, kind: str, config: str, port: int) -> RunningServer:
        """Each run in its own folder, so the logs of every run are kept; the store folder is the same."""
        self.runs[role] += 1
        running = start_server(kind, self.workdir / role / f"run-{self.runs[role]}", config, port=port)
        self.started.append(running)
        return running

    def start_hub(self) -> None:
        store = self.workdir / "hub-store"
        config = hub_config("hub", self.hub_leaf_port, "  no_advertise: true",
                            f'jetstream {{ store_dir: "{store}", domain: hub }}')
        self.hub = self._start("hub", "nats-server", config, self.hub_port)

    def start_edge(self) -> None:
        store = self.workdir / "edge-store"
        config = leaf_config("edge", f'url: "nats-leaf://127.0.0.1:{self.uplink_port}"',
                             f'jetstream {{ store_dir: "{store}", domain: site1 }}\n'
                             f"http: 127.0.0.1:{self.edge_http_port}")
        self.edge = self._start("edge", self.edge_kind, config, self.edge_port)

    def kill_hub(self) -> None:
        self.hub.stop(signal.SIGKILL)

    def kill_edge(self) -> None:
        self.edge.stop(signal.SIGKILL)

    async def start(self) -> None:
        self.uplink_port = await self.uplink.start()
        self.uplink.target_port = self.hub_leaf_port
        self.start_hub()
        self.start_edge()
        hub_nc = await nats.connect(self.hub_url)
        edge_nc = await nats.connect(self.edge_url)
        await edge_nc.jetstream().add_stream(StreamConfig(name=EDGE_STREAM, subjects=[TELEMETRY]))
        await request_until_answered(hub_nc, "$JS.site1.API.INFO")
        source = StreamSource(name=EDGE_STREAM, external=ExternalStream(api="$JS.site1.API"))
        await hub_nc.jetstream().add_stream(StreamConfig(name=HUB_STREAM, sources=[source]))
        for nc in (hub_nc, edge_nc):
            await nc.close()

    async def stop(self) -> None:
        for running in self.started:
            running.stop()
        await self.uplink.stop()


class Device:
    """The device app on a virtual board, with flash outbox and acked readings, joined to its own access
    point in front of the edge broker."""

    def __init__(self, root: Path, device_id: str, edge_port: int):
        self.device_id = device_id
        self.board = VirtualBoard(root / device_id)
        self.ap = AccessPoint(self.board.root, SSID, PASSWORD, edge_port)
        self.config = root / f"{device_id}.json"

    async def install(self, interval_s: float) -> None:
        """Copies the radio module onto the board and provisions the app, with the access point on."""
        await self.ap.start()
        self.ap.on()
        copied = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "mpremote", "connect", self.board.port, "resume", "fs", "cp",
                             str(RADIO), ":network.py"], capture_output=True, text=True, timeout=180)
        assert copied.returncode == 0, copied.stdout + copied.stderr
        write_config(self.config, device_id=self.device_id, servers=[self.ap.url], interval_s=interval_s,
                     acked=True, wifi={"ssid": SSID, "password": PASSWORD},
                     outbox={"flash": True, "max_bytes": 1 << 20, "segment_bytes": 8192, "ack_wait_s": 0.5},
                     client={"reconnect_wait_max": 0.5})
        done = await asyncio.to_thread(device_cli, "provision", "--board", "unix", "--port", self.board.port,
                                       "--config", str(self.config))
        assert done.returncode == 0, done.stderr + self.board.console_text()

    def outbox(self) -> tuple[int, int]:
        """(the newest reading kept on flash, the newest one with its PubAck), read from the outbox's segments.
        An acked segment goes only once a newer one exists, and that one holds the newest ack record (so one
        deleted while this reads is skipped)."""
        kept = acked = 0
        folder = self.board.root / "outbox"
        for segment in folder.glob("*") if folder.is_dir() else ():
            try:
                records = OUTBOX_RECORD.findall(segment.read_bytes())
            except FileNotFoundError:
                continue
            for kind, number in records:
                if kind == b"P":
                    kept = max(kept, int(number))
                else:
                    acked = max(acked, int(number))
        return max(kept, acked), acked

    def running(self) -> bool:
        return self.board.process.poll() is None and 'File "edgeapp.py"' not in self.board.console_text()

    async def stop(self) -> None:
        await self.ap.stop()
        self.board.stop()


async def stop_readings(edge_url: str, device: Device, timeout: float = 30.0) -> None:
    """Asks the app (a command through the edge) to take its next reading in an hour: the count is final."""
    nc = await nats.connect(edge_url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:
        reply = await request_until_answered(nc, f"devices.{device.device_id}.cmd", timeout,
                                             json.dumps({"op": "interval", "seconds": 3600}).encode())
        assert json.loads(reply.data)["interval_s"] == 3600
    finally:
        await nc.close()


async def stream_count(url: str, stream: str) -> int:
    """How many messages `stream` holds now (-1 while its server cannot say)."""
    try:
        nc = await nats.connect(url, connect_timeout=1, max_reconnect_attempts=0, allow_reconnect=False)
    except Exception:  # noqa: BLE001 - the server is restarting
        return -1
    try:
        return (await nc.jetstream().stream_info(stream)).state.messages
    except Exception:  # noqa: BLE001 - e.g. JetStream still recovering after a restart
        return -1
    finally:
        await nc.close()


@dataclass(frozen=True)
class Reading:
    """A stored reading: the device, its number on the device (from its Nats-Msg-Id), the app's own `seq`
    (reset at each boot) and, at the hub, the edge stream sequence it was sourced from."""

    device: str
    number: int
    app_seq: int
    source_seq: int | None


async def stored_readings(url: str, stream: str) -> list[Reading]:
    """Every message of `stream`, in stream order, read with one ephemeral pull consumer."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    total = (await js.stream_info(stream)).state.messages
    config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=30.0)
    subscription = await js.pull_subscribe_bind(stream=stream, consumer=(await js.add_consumer(stream, config)).name)
    readings: list[Reading] = []
    while len(readings) < total:
        for message in await subscription.fetch(min(1000, total - len(readings)), timeout=10):
            device, _epoch, number = message.headers["Nats-Msg-Id"].rsplit("-", 2)
            source = message.headers.get("Nats-Stream-Source")
            readings.append(Reading(device, int(number), json.loads(message.data)["seq"],
                                    int(source.split()[1]) if source else None))
    await nc.close()
    return readings
