"""The bridge's side of the line protocol against a scripted board on a pseudo-terminal (the bridge runs as
its own process, `edgenats-serial --config`): lines before the hello are refused, each line is acked once
the broker has it (after the PONG, or with the stream's PubAck), a line sent again is acked again and not
published twice, a bad checksum gets a NAK, a message for the board is sent again until the board acks it,
console output between frames is logged, the status endpoint shows each port (a missing one waiting), and a
board that restarted (a new boot token in its hello) has its numbers counted afresh."""

from __future__ import annotations

import asyncio
import json
import os
import tty

import nats
from edgenats.serial_bridge.frames import Frame, LineDecoder, encode, pack, pack_headers, unpack
from serial_bridge_process import BridgeProcess


def _wake(future: asyncio.Future) -> None:
    if not future.done():  # the reader may fire again before the waiting coroutine removes it
        future.set_result(None)


class ScriptedBoard:
    """The board's end of a pseudo-terminal, speaking frames the test writes."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.decoder = LineDecoder()
        self.frames: list[Frame] = []

    def send(self, n: int, verb: str, *fields: str) -> None:
        os.write(self.master, encode(n, verb, *fields))

    async def next(self, verb: str, timeout: float = 5.0) -> Frame:
        """The next frame of this verb from the bridge (others before it are skipped)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            while self.frames:
                frame = self.frames.pop(0)
                if frame.verb == verb:
                    return frame
            readable = loop.create_future()
            loop.add_reader(self.master, _wake, readable)
            try:
                await asyncio.wait_for(readable, max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise AssertionError(f"no {verb} from the bridge within {timeout}s") from None
            finally:
                loop.remove_reader(self.master)
            self.frames += [e for e in self.decoder.feed(os.read(self.master, 4096)) if isinstance(e, Frame)]

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


async def test_serial_bridge_lines(server_kind, server_factory, tmp_path):
    broker = server_factory(server_kind, extra_args=["-js", "-sd", str(tmp_path / "store")])
    peer = await nats.connect(broker.url)
    await peer.jetstream().add_stream(name="KEPT", subjects=["site1.*.kept"])
    seen = []

    async def on_temp(msg):
        seen.append(msg.data)

    await peer.subscribe("site1.b9.temp", cb=on_temp)
    await peer.flush()
    board = ScriptedBoard()
    missing = tmp_path / "by-id" / "usb-not-plugged-in"
    bridge = BridgeProcess(tmp_path / "bridge", [broker.url], [board.path, str(missing)])
    try:
        await board.next("SYNC")
        os.write(board.master, b"MicroPython v1.24.1 on 2024-11-29; Raspberry Pi Pico with RP2040\r\n")
        board.send(1, "PUB", "site1.b9.temp", "-", "-", pack(b"early"))
        assert (await board.next("NAK")).fields == ("1", "hello")
        board.send(2, "HELLO", "b9", "1.2.3", "cafe0001", "0")
        assert (await board.next("ACK")).fields == ("2", "-")

        board.send(3, "PUB", "site1.b9.temp", "-", "-", pack(b"21.5"))
        assert (await board.next("ACK")).fields == ("3", "-")
        board.send(3, "PUB", "site1.b9.temp", "-", "-", pack(b"21.5"))  # its ack was "lost": sent again
        assert (await board.next("ACK")).fields == ("3", "-")
        bad = bytearray(encode(4, "PUB", "site1.b9.temp", "-", "-", pack(b"21.7")))
        bad[-3] = ord("0") if bad[-3] != ord("0") else ord("1")
        os.write(board.master, bytes(bad))
        assert (await board.next("NAK")).fields == ("4", "crc")
        board.send(4, "PUB", "site1.b9.temp", "-", "-", pack(b"21.7"))
        assert (await board.next("ACK")).fields == ("4", "-")
        await peer.flush()
        assert seen == [b"21.5", b"21.7"], "the line sent twice is published once, the refused one once resent"

        msg_id = pack_headers({"Nats-Msg-Id": "b9-cafe0001-1"})
        board.send(5, "PUB", "site1.b9.kept", "-", msg_id, pack(b"kept"))
        first = json.loads(unpack((await board.next("ACK")).fields[1]))
        board.send(6, "PUB", "site1.b9.kept", "-", msg_id, pack(b"kept"))  # the outbox sends its entry again
        again = json.loads(unpack((await board.next("ACK")).fields[1]))
        assert first == {"stream": "KEPT", "seq": 1} and again == {"stream": "KEPT", "seq": 1, "duplicate": True}

        board.send(7, "SUB", "1", "site1.b9.cmd", "-")
        assert (await board.next("ACK")).fields == ("7", "-")
        request = asyncio.ensure_future(peer.request("site1.b9.cmd", b'{"op": "ping"}', timeout=5))
        down = await board.next("MSG")
        assert down.n == 1 and down.fields[:2] == ("1", "site1.b9.cmd") and unpack(down.fields[4]) == b'{"op": "ping"}'
        assert await board.next("MSG") == down, "not acked: sent again"
        board.send(0, "ACK", "1", "-")
        board.send(8, "PUB", down.fields[2], "-", "-", pack(b'{"pong": true}'))
        assert (await request).data == b'{"pong": true}'
        assert (await board.next("ACK")).fields == ("8", "-")

        status = json.loads((await peer.request("site1.pi1.serial.status", b"", timeout=5)).data)
        assert [(p["path"], p["state"], p["device_id"]) for p in status] == [
            (board.path, "open", "b9"), (str(missing), "waiting", None)]
        assert status[0]["firmware"] == "1.2.3" and status[0]["naks"] == 1 and status[0]["acks"] >= 8
        assert status[0]["console_lines"] == 1
        assert "board: MicroPython v1.24.1 on 2024-11-29; Raspberry Pi Pico with RP2040" in bridge.log_text()

        board.send(1, "HELLO", "b9", "1.2.3", "cafe0002", "0")  # the board restarted: its numbers start again
        assert (await board.next("ACK")).fields == ("1", "-")
        board.send(3, "PUB", "site1.b9.temp", "-", "-", pack(b"22.0"))  # number 3 of this boot is a new line
        assert (await board.next("ACK")).fields == ("3", "-")
        await peer.flush()
        assert seen == [b"21.5", b"21.7", b"22.0"]
    finally:
        bridge.stop()
        board.close()
        await peer.close()


async def test_serial_bridge_stream_setting(server_kind, server_factory, tmp_path):
    """`stream: always` sends every line through JetStream (no stream captures it: NAK nostream, the board
    sends it again later); `stream: never` publishes plainly even where a stream captures the subject."""
    broker = server_factory(server_kind, extra_args=["-js", "-sd", str(tmp_path / "store")])
    peer = await nats.connect(broker.url)
    await peer.jetstream().add_stream(name="KEPT", subjects=["site1.*.kept"])
    always, never = ScriptedBoard(), ScriptedBoard()
    bridges = [BridgeProcess(tmp_path / "always", [broker.url], [always.path], stream="always", node="pi1"),
               BridgeProcess(tmp_path / "never", [broker.url], [never.path], stream="never", node="pi2")]
    try:
        for board in (always, never):
            await board.next("SYNC")
            board.send(1, "HELLO", "b1", "1.0", "0000beef", "0")
            assert (await board.next("ACK")).fields == ("1", "-")
        always.send(2, "PUB", "site1.b1.plain", "-", "-", pack(b"x"))
        assert (await always.next("NAK")).fields == ("2", "nostream")
        always.send(3, "PUB", "site1.b1.kept", "-", "-", pack(b"y"))
        assert json.loads(unpack((await always.next("ACK")).fields[1])) == {"stream": "KEPT", "seq": 1}
        never.send(2, "PUB", "site1.b1.kept", "-", "-", pack(b"z"))
        assert (await never.next("ACK")).fields == ("2", "-"), "published plainly: no PubAck to pass on"
    finally:
        for bridge in bridges:
            bridge.stop()
        always.close()
        never.close()
        await peer.close()
