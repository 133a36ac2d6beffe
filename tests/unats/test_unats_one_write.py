"""A small publish leaves the device in one write: written as line, payload and CRLF, Nagle's algorithm held
the payload until the broker acknowledged the line, and the receiver's delayed ACK cost every acked reading
about 40 ms (a device drained about 20 readings a second). A relay in front of the broker records what
arrives in each read, from MicroPython and CPython, on edgenats and nats-server."""

from __future__ import annotations

import asyncio

import nats
from unats_helpers import collect


class RecordingRelay:
    """127.0.0.1 relay to the broker that keeps each chunk the device's side sends."""

    def __init__(self, broker_port: int) -> None:
        self.broker_port = broker_port
        self.chunks: list[bytes] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return f"nats://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _relay(self, device_reader, device_writer) -> None:
        broker_reader, broker_writer = await asyncio.open_connection("127.0.0.1", self.broker_port)
        upstream = asyncio.create_task(self._pipe(device_reader, broker_writer, self.chunks))
        downstream = asyncio.create_task(self._pipe(broker_reader, device_writer, None))
        self._tasks |= {upstream, downstream}
        await asyncio.wait([upstream, downstream], return_when=asyncio.FIRST_COMPLETED)
        for writer in (broker_writer, device_writer):
            writer.close()

    @staticmethod
    async def _pipe(reader, writer, record: list[bytes] | None) -> None:
        while chunk := await reader.read(65536):
            if record is not None:
                record.append(chunk)
            writer.write(chunk)
            await writer.drain()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._server.close()


async def test_a_small_publish_reaches_the_broker_in_one_piece(server, start_device):
    peer = await nats.connect(server.url)
    got = await collect(peer, "site.dev1.*")
    relay = RecordingRelay(server.port)
    device = await start_device("publish.py", await relay.start())
    assert "DONE" in await device.finish()
    await peer.flush()
    await relay.stop()
    # The first publish after the handshake: its line went at once, and its payload waited for an ACK.
    line = b"HPUB site.dev1.temp 21 25\r\nNATS/1.0\r\nUnit: C\r\n\r\n"
    holding = [chunk for chunk in relay.chunks if line in chunk]
    assert holding, relay.chunks
    assert line + b"21.5\r\n" in holding[0], relay.chunks
    assert [m.data for m in got][:2] == [b"21.5", b"40"]
    await peer.close()
