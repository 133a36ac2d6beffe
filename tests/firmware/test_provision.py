"""`edgenats device provision` against a virtual board: the real mpremote copies the mpy-cross-compiled
client and app to the MicroPython Unix port on a pseudo-terminal, the app starts there, and its readings,
command replies and discovery answers reach a nats-py client through an edgenats broker."""

from __future__ import annotations

import asyncio
import json

import nats
from firmware_helpers import ROOT, device_cli, write_config
from subscribed import subscribed

CLIENT_MODULES = sorted("lib/unats/" + p.stem + ".mpy" for p in (ROOT / "micropython_client" / "unats").glob("*.py"))
APP_FILES = sorted(["boot.py", "config.json", "lib/edgeapp.mpy", "lib/seriallink.mpy", "main.py", *CLIENT_MODULES])


async def next_json(sub, timeout=20.0) -> dict:
    return json.loads((await sub.next_msg(timeout=timeout)).data)


async def test_provisioned_app_publishes_answers_and_survives_a_broker_restart(server_factory, virtual_board,
                                                                               tmp_path):
    broker = server_factory("edgenats")
    config = write_config(tmp_path / "vb1.json", device_id="vb1", servers=[broker.url], interval_s=0.3)
    peer = await nats.connect(broker.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    readings = await peer.subscribe("devices.vb1.telemetry")
    status = await peer.subscribe("devices.vb1.status")
    await subscribed(peer)

    done = await asyncio.to_thread(device_cli, "provision", "--board", "unix", "--port", virtual_board.port,
                                   "--config", str(config))
    assert done.returncode == 0, done.stderr + virtual_board.console_text()
    assert f"{len(APP_FILES)} file(s) copied" in done.stdout and done.stdout.rstrip().endswith("changed")
    files = sorted(str(p.relative_to(virtual_board.root)) for p in virtual_board.root.rglob("*") if p.is_file())
    assert files == APP_FILES
    on_board = json.loads((virtual_board.root / "config.json").read_text())
    assert on_board["client"] == {"bufsize": 2048, "outbox_size": 4096} and on_board["board"] == "unix"

    assert (await next_json(status))["state"] == "online"
    first = await next_json(readings)
    second = await next_json(readings)
    assert first["id"] == "vb1" and second["seq"] == first["seq"] + 1 and first["kind"] == "heap_free"

    pong = await peer.request("devices.vb1.cmd", b'{"op": "ping"}', timeout=5)
    assert json.loads(pong.data) == {"id": "vb1", "pong": True, "version": "0.1.0"}
    bad = await peer.request("devices.vb1.cmd", b'{"op": "explode"}', timeout=5)
    assert bad.headers["Nats-Service-Error"] == "unknown op explode"
    assert bad.headers["Nats-Service-Error-Code"] == "400"
    found = json.loads((await peer.request("$SRV.PING.edgedevice", b"", timeout=5)).data)
    assert found["type"] == "io.nats.micro.v1.ping_response" and found["metadata"]["device_id"] == "vb1"
    stats = json.loads((await peer.request("$SRV.STATS.edgedevice." + found["id"], b"", timeout=5)).data)
    assert stats["endpoints"][0]["num_requests"] == 2 and stats["endpoints"][0]["num_errors"] == 1

    # The broker goes away; readings taken meanwhile wait in the device's outbox and arrive afterwards.
    before = (await next_json(readings))["seq"]
    broker.stop()
    await asyncio.sleep(2)
    server_factory("edgenats", port=broker.port)
    back = await next_json(status, timeout=30)
    assert back["state"] == "online" and back["reconnects"] >= 1
    seqs = []
    while len(seqs) < 12:
        seqs.append((await next_json(readings))["seq"])
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "no reading lost or reordered"
    assert seqs[0] <= before + 1
    await peer.close()


async def test_second_provision_copies_nothing_and_restarts_the_app(server_factory, virtual_board, tmp_path):
    broker = server_factory("edgenats")
    config = write_config(tmp_path / "vb2.json", device_id="vb2", servers=[broker.url], interval_s=0.3)
    args = ("provision", "--board", "unix", "--port", virtual_board.port, "--config", str(config))
    assert (await asyncio.to_thread(device_cli, *args)).returncode == 0
    peer = await nats.connect(broker.url)
    readings = await peer.subscribe("devices.vb2.telemetry")
    await next_json(readings)

    again = await asyncio.to_thread(device_cli, *args)
    assert again.returncode == 0, again.stderr
    assert f"0 file(s) copied, {len(APP_FILES)} up to date" in again.stdout
    assert again.stdout.rstrip().endswith("unchanged")
    await asyncio.sleep(0.5)
    while True:  # drain what the first run published; the restarted app counts from 1 again
        reading = await next_json(readings)
        if reading["seq"] == 1:
            break

    write_config(tmp_path / "vb2.json", device_id="vb2", servers=[broker.url], interval_s=0.3,
                 subjects={"telemetry": "site.vb2.readings"})
    moved = await peer.subscribe("site.vb2.readings")
    changed = await asyncio.to_thread(device_cli, *args)
    assert f"1 file(s) copied, {len(APP_FILES) - 1} up to date" in changed.stdout
    assert (await next_json(moved))["id"] == "vb2"
    await peer.close()


async def test_app_authenticates_with_the_configured_user(server_factory, virtual_board, tmp_path):
    broker = server_factory("edgenats", config='authorization { users = [{user: dev, password: s3cret}] }\n')
    config = write_config(tmp_path / "vb3.json", device_id="vb3", servers=[broker.url], interval_s=0.3,
                          user="dev", password="s3cret")
    done = await asyncio.to_thread(device_cli, "provision", "--board", "unix", "--port", virtual_board.port,
                                   "--config", str(config))
    assert done.returncode == 0, done.stderr
    peer = await nats.connect(broker.url, user="dev", password="s3cret")
    readings = await peer.subscribe("devices.vb3.telemetry")
    assert (await next_json(readings))["id"] == "vb3"
    await peer.close()
