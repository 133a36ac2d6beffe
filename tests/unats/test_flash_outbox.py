"""The flash outbox: readings kept on flash until their PubAck survive power cuts (the MicroPython process
killed with SIGKILL and started again on the same files), with the broker down and mid-send, and every reading
reaches the stream exactly once; the segment files stay bounded and fully acked ones are deleted."""

from __future__ import annotations

import signal

import nats
import pytest
from servers import free_port
from test_js_acked import stream_contents


async def power_cut(device) -> None:
    device.process.send_signal(signal.SIGKILL)
    await device.process.wait()


async def test_readings_survive_power_cuts_and_arrive_once(server_kind, server_factory, tmp_path, start_device):
    folder = tmp_path / "outbox"
    port = free_port()
    url = f"nats://127.0.0.1:{port}"

    first = await start_device("flash_outbox.py", url, folder, 1, 8, -1, heap="36K")  # no broker yet
    await first.expect("DOWN")
    epoch = (await first.expect("PENDING")).split()[2]
    await first.expect("KEPT 8")
    await power_cut(first)

    broker = server_factory(server_kind, extra_args=["-js", "-sd", str(tmp_path / "store")], port=port)
    peer = await nats.connect(broker.url)
    await peer.jetstream().add_stream(name="READINGS", subjects=["readings.>"])
    await peer.close()

    second = await start_device("flash_outbox.py", url, folder, 9, 8, 3, heap="36K")  # keeps nothing new
    assert await second.expect("PENDING") == f"PENDING 8 {epoch}", "all eight readings survived the power cut"
    assert await second.expect("INFLIGHT") == f"INFLIGHT dev1-{epoch}-4"
    await power_cut(second)

    third = await start_device("flash_outbox.py", url, folder, 9, 10, -1, heap="36K")
    assert await third.expect("PENDING") == f"PENDING 5 {epoch}"
    assert await third.expect("ACK") == "ACK 4 True", "the reading stored before the cut is not stored again"
    output = await third.finish()
    assert "DONE 7 1 0 0" in output
    assert await stream_contents(broker.url, "READINGS") == [
        (f"dev1-{epoch}-{i}", b"reading-%d" % i) for i in range(1, 11)]
    segments = sorted(folder.iterdir())
    assert len(segments) == 1 and segments[0].stat().st_size <= 256, "acked segments are deleted"


@pytest.mark.parametrize("runtime", ["micropython"])
async def test_flash_outbox_heap_in_a_32k_heap(start_device, tmp_path):
    device = await start_device("outbox_heap.py", tmp_path / "outbox", heap="32K")
    figures = (await device.expect("HEAP")).split()
    await device.finish()
    costs = dict(zip(figures[1::2], map(int, figures[2::2]), strict=True))
    print("\n[32K heap]", costs)
    assert costs["segments"] == 1 and costs["free"] > 0
    assert costs["outbox"] + costs["flashlog"] < 8 * 1024, "the outbox modules grew"
