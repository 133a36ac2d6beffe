"""The soliciting side on the wire (spec §15.3-15.6, transcripts B2-B4): a scripted hub in the test
accepts the leaf's dial, so the exact CONNECT, LS+/LS- lines (queue weights) and LMSG forms are seen.

Each test runs with edgenats and nats-server as the leaf; nats-server proves the expected lines.
"""

from __future__ import annotations

import asyncio
import json
import socket

import nats
import pytest
from leaf_helpers import leaf_config, wait_count
from servers import free_port
from subscribed import subscribed

HUB_INFO = (b'INFO {"server_id":"NFAKEHUB","server_name":"fakehub","version":"2.15.1","proto":1,"go":"go1.22",'
            b'"host":"127.0.0.1","port":7422,"headers":true,"max_payload":1048576,"client_id":7,'
            b'"leafnode_urls":[]}\r\n')


class ScriptedHub:
    """Accepts one leaf link, answers its PINGs, and records every line the leaf sends."""

    def __init__(self, connect_info: bytes | None = None) -> None:
        # With `connect_info`, the first INFO asks for it (info_on_connect) and it answers CONNECT.
        self.connect_info = connect_info
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lines: list[bytes] = []
        self.payloads: list[bytes] = []
        self.writer: asyncio.StreamWriter | None = None
        self.connected = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        server = await asyncio.start_server(self._serve, sock=self.listener)
        self._server = server

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.writer is not None:
            writer.close()
            return
        self.writer = writer
        self._task = asyncio.current_task()
        writer.write(HUB_INFO.replace(b"}\r\n", b',"info_on_connect":true}\r\n') if self.connect_info else HUB_INFO)
        await writer.drain()
        while line := await reader.readline():
            line = line.rstrip(b"\r\n")
            if line == b"PING":
                writer.write(b"PONG\r\n")
                continue
            self.lines.append(line)
            if line.startswith(b"CONNECT "):
                if self.connect_info:
                    writer.write(self.connect_info)
                self.connected.set()
            elif line.startswith((b"LMSG ", b"HMSG ")):
                size = int(line.split()[-1])
                self.payloads.append((await reader.readexactly(size + 2))[:-2])

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    def connect_options(self) -> dict:
        return json.loads(next(line for line in self.lines if line.startswith(b"CONNECT "))[8:])

    def interest_lines(self) -> list[bytes]:
        """LS+/LS- lines, without the system-account and loop-detection subjects nats-server adds."""
        return [line for line in self.lines if line.startswith((b"LS+ ", b"LS- "))
                and not line.split()[1].startswith((b"$SYS.", b"$LDS."))]

    async def wait_for_lines(self, count: int, timeout: float = 10.0) -> list[bytes]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.interest_lines()) < count and loop.time() < deadline:
            await asyncio.sleep(0.01)
        return self.interest_lines()

    async def wait_for_messages(self, start: int, count: int, exclude: bytes, timeout: float = 10.0) -> list[bytes]:
        """Message lines recorded after index `start`, other than `exclude`, once `count` have come."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            lines = [line for line in self.lines[start:] if line.startswith((b"LMSG ", b"HMSG ")) and line != exclude]
            if len(lines) >= count or loop.time() > deadline:
                return lines
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        self._server.close()
        if self.writer is not None:
            self.writer.close()
            # Closing our end ends the reader loop; wait for it so no task outlives the test.
            await asyncio.wait_for(self._task, 5)


@pytest.fixture
def connect_info() -> bytes | None:
    return None


@pytest.fixture(params=["edgenats", "nats-server"])
async def wired(request, server_factory, connect_info):
    """(scripted hub, leaf server, nats-py client on the leaf) with the leaf's CONNECT received."""
    hub = ScriptedHub(connect_info)
    await hub.start()
    leaf = server_factory(request.param, config=leaf_config("wireleaf", f'url: "nats-leaf://127.0.0.1:{hub.port}"'),
                          port=free_port())
    await asyncio.wait_for(hub.connected.wait(), 15)
    nc = await nats.connect(leaf.url)
    yield hub, leaf, nc
    await nc.close()
    await hub.close()


async def test_connect_is_a_leaf_connect(wired):
    hub, leaf, nc = wired
    options = hub.connect_options()
    assert "lang" not in options
    assert options["headers"] is True
    assert options.get("compress_mode", "not supported") in ("not supported", "off")
    assert options["name"] == "wireleaf"
    assert options["remote_account"] == "$G"


async def test_loop_detection_subject_is_advertised(wired):
    hub, leaf, nc = wired
    await nc.flush()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not any(line.startswith(b"LS+ $LDS.") for line in hub.lines) and loop.time() < deadline:
        await asyncio.sleep(0.01)
    (subject,) = [line[4:] for line in hub.lines if line.startswith(b"LS+ $LDS.")]
    assert len(subject) == len("$LDS.") + 22


async def test_plain_interest_is_sent_once_and_queue_weights_on_every_change(wired):
    hub, leaf, nc = wired
    first = await nc.subscribe("local.foo")
    second = await nc.subscribe("local.foo")
    member_1 = await nc.subscribe("local.q", queue="grp")
    member_2 = await nc.subscribe("local.q", queue="grp")
    await subscribed(nc)
    assert await hub.wait_for_lines(3) == [b"LS+ local.foo", b"LS+ local.q grp 1", b"LS+ local.q grp 2"]
    await first.unsubscribe()
    await member_1.unsubscribe()
    await nc.flush()
    assert (await hub.wait_for_lines(4))[3:] == [b"LS+ local.q grp 1"]
    await second.unsubscribe()
    await member_2.unsubscribe()
    await nc.flush()
    assert (await hub.wait_for_lines(6))[4:] == [b"LS- local.foo", b"LS- local.q grp"]


async def test_messages_to_the_hub_name_the_queue_groups_it_announced(wired):
    hub, leaf, nc = wired
    hub.send(b"LS+ hub.foo\r\nLS+ hub.q grp 3\r\n")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    # The leaf learns the interest asynchronously: publish until the first message gets through.
    while not hub.payloads and loop.time() < deadline:
        await nc.publish("hub.foo", b"probe")
        await nc.flush()
        await asyncio.sleep(0.02)
    count = len(hub.lines)
    await nc.publish("hub.foo", b"hi")
    await nc.publish("hub.q", b"hi", reply="r")
    await nc.publish("hub.q", b"qq")
    await nc.publish("hub.foo", b"hi", headers={"A": "1"})
    await nc.publish("nobody.wants", b"x")
    await nc.flush()
    # A late probe may still be on its way: only the lines of the messages above count.
    lines = await hub.wait_for_messages(count, 4, exclude=b"LMSG hub.foo 5")
    assert lines == [b"LMSG hub.foo 2", b"LMSG hub.q + r grp 2", b"LMSG hub.q | grp 2", b"HMSG hub.foo 18 20"]


async def test_messages_from_the_hub_reach_queues_only_when_named(wired):
    hub, leaf, nc = wired
    plain, queued = [], []

    async def on_plain(msg):
        plain.append(msg.data)

    async def on_queue(msg):
        queued.append(msg.data)

    await nc.subscribe("local.foo", cb=on_plain)
    await nc.subscribe("local.q", queue="grp", cb=on_queue)
    await nc.subscribe("local.q", queue="grp", cb=on_queue)
    await subscribed(nc)
    await hub.wait_for_lines(2)
    hub.send(b"LMSG local.foo 2\r\nm1\r\nLMSG local.foo rep.1 2\r\nm2\r\nLMSG local.q | grp 2\r\nm3\r\n"
             b"LMSG local.q + rep.2 grp 2\r\nm4\r\nLMSG local.q 2\r\nm5\r\n"
             b"HMSG local.foo rep.3 20 22\r\nNATS/1.0\r\nX-A: 1\r\n\r\nm6\r\nLMSG local.foo 3\r\nend\r\n")
    await wait_count(plain, 4)
    assert plain == [b"m1", b"m2", b"m6", b"end"]
    assert queued == [b"m3", b"m4"]


async def test_a_hub_echoing_the_leaf_loop_subject_is_a_loop(wired):
    hub, leaf, nc = wired
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not any(line.startswith(b"LS+ $LDS.") for line in hub.lines) and loop.time() < deadline:
        await asyncio.sleep(0.01)
    (own,) = [line for line in hub.lines if line.startswith(b"LS+ $LDS.")]
    hub.send(own + b"\r\n")
    await asyncio.wait_for(hub._task, 10)
    account = "$G"
    assert hub.lines[-1] == (b"-ERR 'Loop detected for leafnode account=\"%s\". "
                             b"Delaying attempt to reconnect for 30s'" % account.encode())


PERMISSIONS_INFO = (b'INFO {"server_id":"NFAKEHUB","server_name":"fakehub","version":"2.15.1","proto":1,'
                    b'"headers":true,"max_payload":1048576,"client_id":7,"leafnode_urls":[],"connect_info":true,'
                    b'"remote_account":"A","import":{"allow":["foo.*","_INBOX.>"]},'
                    b'"export":{"allow":["req.>"],"deny":["req.secret"]}}\r\n')


@pytest.mark.parametrize("connect_info", [PERMISSIONS_INFO])
async def test_the_hubs_import_and_export_lists_are_respected(wired):
    hub, leaf, nc = wired
    for subject in ("bar", "foo.x", "foo.>", "req.in"):
        await nc.subscribe(subject)
    await subscribed(nc)
    lines = await hub.wait_for_lines(2)
    hub.send(b"LS+ >\r\n")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not hub.payloads and loop.time() < deadline:
        await nc.publish("req.probe", b"")
        await nc.flush()
        await asyncio.sleep(0.02)
    count = len(hub.lines)
    for subject in ("other", "req.secret", "req.a"):
        await nc.publish(subject, b"")
    await nc.flush()
    # Whatever is sent arrives in order: req.a last, so anything refused would show before it.
    messages = await hub.wait_for_messages(count, 1, exclude=b"LMSG req.probe 0")
    assert sorted(lines) == [b"LS+ foo.>", b"LS+ foo.x"]
    assert messages == [b"LMSG req.a 0"]
