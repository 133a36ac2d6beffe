"""An exception raised by an application callback (a failed I2C read raises OSError on MicroPython) reaches the
application and is not taken for a network failure: the server sees the same single connection throughout."""

from __future__ import annotations

import json
import urllib.request

import nats
import pytest
from servers import free_port
from unats_helpers import EXTRAS_HEAP


def device_connections(server) -> list[int]:
    """The cids of the server's open connections named cb-dev, from its /connz."""
    with urllib.request.urlopen(f"http://127.0.0.1:{server.http_port}/connz", timeout=5) as response:
        connz = json.load(response)
    return [c["cid"] for c in connz["connections"] if c.get("name") == "cb-dev"]


@pytest.fixture
def monitored(server_kind, server_factory):
    return server_factory(server_kind, extra_args=["-m", str(free_port())])


async def test_blocking_callback_error_is_raised_to_the_app_and_the_connection_stays(monitored, start_device):
    device = await start_device("callback_error.py", monitored.url)
    await device.expect("READY")
    before = device_connections(monitored)
    assert len(before) == 1
    peer = await nats.connect(monitored.url)
    for data in (b"ok-1", b"fail", b"ok-2"):  # one burst: the message after the failing one is already buffered
        await peer.publish("dev.read", data)
    await peer.flush()
    assert await device.expect("READ") == "READ ok-1"
    assert await device.expect("APPERR") == "APPERR 5 I2C read failed"
    assert await device.expect("READ") == "READ ok-2"
    assert device_connections(monitored) == before
    await peer.publish("dev.stop", b"")
    await peer.flush()
    output = await device.finish()
    assert "END 0 True" in output and "CONNERR" not in output
    await peer.close()


async def test_aio_callback_errors_go_to_error_cb_and_the_connection_stays(monitored, start_device):
    device = await start_device("aio_callback_error.py", monitored.url, heap=EXTRAS_HEAP)
    await device.expect("READY")
    before = device_connections(monitored)
    assert len(before) == 1
    peer = await nats.connect(monitored.url)
    for subject, data in (("dev.read", b"ok-1"), ("dev.read", b"fail"), ("dev.slow", b""), ("dev.read", b"ok-2")):
        await peer.publish(subject, data)
    await peer.flush()
    assert await device.expect("READ") == "READ ok-1"
    assert await device.expect("ERRCB") == "ERRCB OSError 5"
    assert await device.expect("READ") == "READ ok-2"
    assert await device.expect("ERRCB") == "ERRCB OSError 121"
    assert device_connections(monitored) == before
    await peer.publish("dev.stop", b"")
    await peer.flush()
    assert "END 0 True" in await device.finish()
    await peer.close()
