"""The device app rides out Wi-Fi outages on a virtual board. The Unix port has no Wi-Fi, so a simulated
radio (radio/network.py, copied onto the board with mpremote as a user copies a module) stands in for it,
joined to an access point the test switches off and on; the access point's relay is the board's only path
to the edgenats broker, and it lets the board through only while the radio is associated."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import nats
import pytest
from access_point import AccessPoint
from firmware_helpers import device_cli, write_config
from subscribed import subscribed

RADIO = Path(__file__).parent / "radio" / "network.py"
SSID, PASSWORD = "greenhouse", "leafy-42"
JOIN = f"{SSID} {PASSWORD}"  # one connect(ssid, password) as the radio logs it


@pytest.fixture
async def access_point(server_factory, virtual_board):
    """An access point in front of an edgenats broker, for the virtual board; off until the test says on."""
    broker = server_factory("edgenats")
    ap = AccessPoint(virtual_board.root, SSID, PASSWORD, broker.port)
    await ap.start()
    yield broker, ap
    await ap.stop()


def app_running(board) -> bool:
    """The board is up and the app has not stopped on an error (the board's REPL outlives a crashed app)."""
    return board.process.poll() is None and 'File "edgeapp.py"' not in board.console_text()


async def until(check, what: str, board, timeout: float = 120.0):
    """Polls check() until it is true; fails saying what never happened, with the board's latest output."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        console = board.console_text()[-1500:]
        assert app_running(board), f"the app stopped while waiting for: {what}\n--- board console ---\n{console}"
        assert asyncio.get_running_loop().time() < deadline, \
            f"timed out waiting for: {what}\n--- board console ---\n{console}"
        await asyncio.sleep(0.1)


class DeviceFeed:
    """Everything the device publishes, in the order the broker delivered it (one subscription, so a status
    message and the readings around it keep their order)."""

    def __init__(self):
        self.messages: list[tuple[str, dict]] = []

    async def on_msg(self, msg):
        self.messages.append((msg.subject.rsplit(".", 1)[1], json.loads(msg.data)))

    def readings(self, start: int = 0) -> list[int]:
        return [body["seq"] for kind, body in self.messages[start:] if kind == "telemetry"]

    def statuses(self) -> list[dict]:
        return [body for kind, body in self.messages if kind == "status"]


@pytest.fixture
async def feed(access_point):
    """Everything the board publishes, as a nats-py subscriber on the broker receives it."""
    broker, _ = access_point
    peer = await nats.connect(broker.url)
    received = DeviceFeed()
    await peer.subscribe("devices.>", cb=received.on_msg)
    await subscribed(peer)
    yield received
    await peer.close()


async def off_after_a_reading(ap: AccessPoint, feed: DeviceFeed, board, silent: bool = False) -> int:
    """Switches the access point off right after a reading arrived, so that none is on its way through the
    relay; returns how many messages had arrived by then."""
    seen = len(feed.readings())
    await until(lambda: len(feed.readings()) > seen, "the next reading", board)
    ap.off(silent=silent)
    return len(feed.messages)


async def install(board, ap: AccessPoint, device_id: str, tmp_path: Path, **settings):
    """Copies the radio module onto the board, then provisions the app with Wi-Fi settings and the relay (and
    any further settings of its config.json)."""
    copied = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "mpremote", "connect", board.port, "resume", "fs", "cp", str(RADIO),
                         ":network.py"], capture_output=True, text=True, timeout=180)
    assert copied.returncode == 0, copied.stdout + copied.stderr
    config = write_config(tmp_path / f"{device_id}.json", device_id=device_id, servers=[ap.url], interval_s=1,
                          wifi={"ssid": SSID, "password": PASSWORD}, **settings)
    done = await asyncio.to_thread(device_cli, "provision", "--board", "unix", "--port", board.port,
                                   "--config", str(config))
    assert done.returncode == 0, done.stderr + board.console_text()


async def test_app_rejoins_wifi_after_the_access_point_drops_and_sends_the_readings_it_kept(
        access_point, feed, virtual_board, tmp_path):
    _, ap = access_point
    ap.on()
    await install(virtual_board, ap, "vw1", tmp_path)

    await until(lambda: len(feed.readings()) >= 3, "readings over the Wi-Fi link", virtual_board)
    assert feed.statuses()[0]["reconnects"] == 0
    assert ap.connects() == [JOIN], "joined once with the configured credentials, and stayed joined"

    cut = await off_after_a_reading(ap, feed, virtual_board)
    await until(lambda: len(ap.connects()) >= 2, "the app trying to rejoin", virtual_board)
    quiet_from = len(feed.messages)
    await until(lambda: len(ap.connects()) >= 3, "the app trying to rejoin again", virtual_board)
    assert len(feed.messages) == quiet_from, "nothing reaches the broker while the access point is off"
    assert app_running(virtual_board), "the app keeps running through the outage"
    # The console line comes through the board's pseudo-terminal, which may deliver it after the radio saw the join.
    await until(lambda: virtual_board.console_text().count(f"wifi: connecting to {SSID}") >= 3,
                "the app logging each rejoin", virtual_board)
    assert set(ap.connects()) == {JOIN}

    attempts = len(ap.connects())
    ap.on()
    await until(lambda: len(feed.statuses()) >= 2, "the device announcing itself online again", virtual_board)
    await until(lambda: len(feed.readings(cut)) >= 5, "readings after the outage", virtual_board)
    assert len(ap.connects()) > attempts and set(ap.connects()) == {JOIN}, "the app rejoined by itself"
    back = feed.statuses()[1]
    assert back == {"id": "vw1", "state": "online", "reconnects": 1, "dropped": 0}
    assert app_running(virtual_board)
    seqs = feed.readings()
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "no reading lost or reordered across the outage"
    kept = feed.readings(cut)[:[kind for kind, _ in feed.messages[cut:]].index("status")]
    assert len(kept) >= 2, "readings taken while the access point was off arrive before the device is back online"


async def test_readings_wait_in_the_outbox_when_the_link_drops_silently(access_point, feed, virtual_board, tmp_path):
    """Out of range, nothing tells the board's socket that the connection is gone: the app learns it from the
    radio and keeps its readings instead of writing them into that socket."""
    _, ap = access_point
    ap.on()
    await install(virtual_board, ap, "vw3", tmp_path)
    await until(lambda: len(feed.readings()) >= 3, "readings over the Wi-Fi link", virtual_board)

    cut = await off_after_a_reading(ap, feed, virtual_board, silent=True)
    await until(lambda: len(ap.connects()) >= 3, "the app noticing the lost link and trying to rejoin", virtual_board)
    assert len(feed.messages) == cut, "nothing reaches the broker while the access point is off"

    ap.on()
    await until(lambda: len(feed.statuses()) >= 2, "the device announcing itself online again", virtual_board)
    await until(lambda: len(feed.readings(cut)) >= 5, "readings after the outage", virtual_board)
    seqs = feed.readings()
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "no reading lost across the silent outage"
    kept = feed.readings(cut)[:[kind for kind, _ in feed.messages[cut:]].index("status")]
    assert len(kept) >= 2, "readings taken while the link was down arrive before the device is back online"
    assert feed.statuses()[1] == {"id": "vw3", "state": "online", "reconnects": 1, "dropped": 0}


async def test_app_waits_for_an_access_point_that_is_off_at_boot(access_point, feed, virtual_board, tmp_path):
    _, ap = access_point
    await install(virtual_board, ap, "vw2", tmp_path)

    await until(lambda: len(ap.connects()) >= 3, "the app trying to join, and trying again", virtual_board)
    assert "broker not reachable yet" in virtual_board.console_text()
    assert app_running(virtual_board) and feed.messages == []
    assert set(ap.connects()) == {JOIN}

    ap.on()
    # the outbox (readings taken before the link came up) leaves first, the online status after it
    await until(lambda: len(feed.readings()) >= 5 and feed.statuses(), "readings and the online status once the "
                "access point is on", virtual_board)
    seqs = feed.readings()
    assert feed.messages[0][0] == "telemetry" and seqs == list(range(1, len(seqs) + 1)), \
        "readings taken before the link came up arrive first, oldest first, none lost"
    assert feed.statuses()[0] == {"id": "vw2", "state": "online", "reconnects": 0, "dropped": 0}
