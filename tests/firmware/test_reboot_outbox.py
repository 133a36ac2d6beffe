"""Readings kept on flash until the stream's PubAck ("acked": true, the outbox on flash by default): the virtual
board loses power (SIGKILL, then boot.py and main.py again on the same files) while the broker is down, and
once the broker is back every reading, from before and after the power cut, is in the stream exactly once."""

from __future__ import annotations

import asyncio
import re

import nats
from firmware_helpers import device_cli, write_config
from test_wifi_outage import until

ENTRY = re.compile(rb"^P (\d+) ", re.MULTILINE)


def last_kept(board) -> int:
    """The number of the newest reading in the board's flash outbox (its segment files)."""
    folder = board.root / "outbox"
    numbers = [int(n) for f in folder.glob("*") for n in ENTRY.findall(f.read_bytes())] if folder.is_dir() else []
    return max(numbers, default=0)


async def stored_ids(url: str) -> list[str]:
    """The Nats-Msg-Id of every message in the TELEMETRY stream, in stream order."""
    peer = await nats.connect(url)
    js = peer.jetstream()
    state = (await js.stream_info("TELEMETRY")).state
    ids = [(await js.get_msg("TELEMETRY", seq)).headers["Nats-Msg-Id"]
           for seq in range(state.first_seq, state.last_seq + 1)] if state.messages else []
    await peer.close()
    return ids


async def until_stored(url: str, count: int, board, timeout: float = 30.0) -> list[str]:
    deadline = asyncio.get_running_loop().time() + timeout
    while len(ids := await stored_ids(url)) < count:
        assert asyncio.get_running_loop().time() < deadline, \
            f"{len(ids)} readings stored, not {count}\n--- board console ---\n{board.console_text()[-1500:]}"
        await asyncio.sleep(0.2)
    return ids


async def test_readings_on_flash_survive_a_reboot_while_the_broker_is_down(server_factory, virtual_board, tmp_path):
    arguments = ["-js", "-sd", str(tmp_path / "store")]
    broker = server_factory("edgenats", extra_args=arguments)
    peer = await nats.connect(broker.url)
    await peer.jetstream().add_stream(name="TELEMETRY", subjects=["devices.*.telemetry"])
    await peer.close()
    config = write_config(tmp_path / "vr1.json", device_id="vr1", servers=[broker.url], interval_s=0.2, acked=True,
                          outbox={"ack_wait_s": 0.5}, client={"reconnect_wait_max": 0.5})
    done = await asyncio.to_thread(device_cli, "provision", "--board", "unix", "--port", virtual_board.port,
                                   "--config", str(config))
    assert done.returncode == 0, done.stderr + virtual_board.console_text()
    await until_stored(broker.url, 3, virtual_board)

    broker.stop()
    at_stop = last_kept(virtual_board)
    await until(lambda: last_kept(virtual_board) >= at_stop + 3, "readings kept on flash", virtual_board, 15)
    at_cut = last_kept(virtual_board)
    virtual_board.power_cycle()
    await until(lambda: virtual_board.console_text().count("outbox: flash") == 2, "the app after the reboot",
                virtual_board, 15)
    pending = int(virtual_board.console_text().split("outbox: flash ")[2].split()[0])
    assert pending >= 3, "the readings kept before the power cut are still there"
    await until(lambda: last_kept(virtual_board) >= at_cut + 2, "readings kept after the reboot", virtual_board, 15)

    server_factory("edgenats", extra_args=arguments, port=broker.port)
    ids = await until_stored(broker.url, last_kept(virtual_board), virtual_board)
    prefixes = {i.rsplit("-", 1)[0] for i in ids}
    numbers = [int(i.rsplit("-", 1)[1]) for i in ids]
    assert len(prefixes) == 1 and prefixes.pop().startswith("vr1-")
    assert numbers == list(range(1, len(numbers) + 1)), "every reading once, in order, across the power cut"
    assert len(numbers) >= at_cut + 2
