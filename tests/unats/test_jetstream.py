"""JetStream helpers against the reference nats-server with -js (edgenats has no JetStream yet)."""

from __future__ import annotations

import nats
import pytest
from unats_helpers import EXTRAS_HEAP


@pytest.fixture
def js_server(server_factory, tmp_path):
    return server_factory("nats-server", extra_args=["-js", "-sd", str(tmp_path / "js")])


async def test_publish_ack_dedup_and_key_value(js_server, start_device):
    peer = await nats.connect(js_server.url)
    js = peer.jetstream()
    await js.add_stream(name="EVENTS", subjects=["events.>"])
    kv = await js.create_key_value(bucket="config", history=2)
    await kv.put("peer.key", b"from-peer")
    await kv.put("gone", b"soon deleted")
    await kv.delete("gone")

    device = await start_device("jetstream.py", js_server.url, heap=EXTRAS_HEAP)
    output = await device.finish()
    assert [line for line in output.splitlines() if line.startswith("ACK")] == [
        "ACK EVENTS 1 False", "ACK EVENTS 2 False", "ACK EVENTS 1 True"]
    assert "NO STREAM" in output
    assert "GET b'30' b'from-peer' None" in output
    assert "DELETED None" in output
    assert "JSERROR 404" in output
    revision = int(output.split("PUT ")[1].split()[0])
    entry = await kv.get("dev1.interval")
    assert (entry.value, entry.revision) == (b"30", revision)
    assert (await js.stream_info("EVENTS")).state.messages == 2
    await peer.close()
