"""The official nats.js client's JetStream calls against each server, unchanged.

`nodejs/jetstream.mjs` (npm package `nats`, pinned by its package-lock.json) adds a stream, publishes
with message ids and expectations, reads messages back, fetches and acks with a durable pull consumer,
reads with an ordered consumer and a durable push subscription, uses a key-value bucket (put, get,
update at a stale revision, delete, keys, history, status),
deletes, purges and removes the stream, and prints what it saw. The same values hold for edgenats and
nats-server. Needs node and the harness (`npm ci --prefix tests/clients/nodejs`); without them the
test skips, except under CI=true, where it fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
from pathlib import Path

import pytest
from missing_tools import missing_tool

HARNESS = Path(__file__).parent / "nodejs"


@pytest.fixture
def nodejs_harness():
    missing = []
    if shutil.which("node") is None:
        missing.append("node (apt-get install -y nodejs npm)")
    if not (HARNESS / "node_modules" / "nats" / "package.json").is_file():
        missing.append("nats (npm ci --prefix tests/clients/nodejs)")
    if missing:
        missing_tool("nats.js test needs " + ", ".join(missing))


async def run_scenario(script: str, url: str) -> dict:
    process = await asyncio.create_subprocess_exec(
        "node", str(HARNESS / script), url, cwd=HARNESS,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    assert process.returncode == 0, f"node exit {process.returncode}\nstderr: {stderr.decode(errors='replace')}"
    return json.loads(stdout)


async def test_nodejs_jetstream_session(nodejs_harness, server_kind, server_factory, tmp_path):
    server = server_factory(server_kind, extra_args=["-js", "-sd", str(tmp_path / "store")])
    seen = await run_scenario("jetstream.mjs", server.url)

    assert seen["stream add"] == {"name": "ORDERS", "subjects": ["orders.>"], "messages": 0}
    assert seen["overlapping stream"] == {"error": {
        "code": 400, "err_code": 10065, "description": "subjects overlap with an existing stream"}}
    assert seen["publish"] == [{"stream": "ORDERS", "seq": seq, "duplicate": False} for seq in range(1, 6)]
    assert seen["duplicate publish"] == {"seq": 1, "duplicate": True}
    assert seen["expected last sequence"] == {"error": {
        "code": 400, "err_code": 10071, "description": "wrong last sequence: 5"}}
    assert seen["publish with headers"] == 6
    assert seen["stream info"] == {"messages": 6, "first": 1, "last": 6}
    assert seen["get message"] == {"subject": "orders.us", "seq": 6, "data": "with headers", "origin": "sensor-7"}
    assert seen["last by subject"] == {"seq": 5, "data": "order 5"}
    assert seen["consumer add"] == {"name": "worker", "pending": 6}
    assert seen["fetch and ack"] == [
        {"seq": seq, "subject": f"orders.{'eu' if seq % 2 else 'us'}", "data": f"order {seq}", "redelivered": False}
        for seq in range(1, 5)]
    assert seen["consumer info after acks"] == {"floor": 4, "ack_pending": 0, "pending": 2}
    assert seen["ordered consumer"] == [{"seq": seq, "data": f"order {seq}"} for seq in (1, 3, 5)]
    assert seen["push subscribe"] == {
        "got": [{"seq": seq, "subject": "orders.us", "pending": pending} for seq, pending in ((2, 2), (4, 1), (6, 0))],
        "floor": 6, "bound": False}
    assert seen["delete message"] is True
    assert seen["purge subject"] == 3
    assert seen["key-value"] == {"first": 1, "value": "12", "revision": 2, "stale": 10071, "keys": ["pump.speed"],
                                 "history": [[1, "10"], [2, "12"]], "values": 4, "bucket": "site"}
    assert sorted(seen["stream names"]) == ["KV_site", "ORDERS"]
    assert seen["delete stream"] is True
    assert seen["missing stream"] == {"error": {"code": 404, "err_code": 10059, "description": "stream not found"}}
