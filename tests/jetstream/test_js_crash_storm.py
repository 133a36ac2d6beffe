"""Acknowledged means kept, across `kill -9` of the whole broker: a real edgenats process is killed at a
random moment of a publish storm (32 concurrent `js.publish` with Nats-Msg-Id, the unacknowledged ones
retried in the next life) while a durable pull consumer fetches and acks as it goes, and restarted on
the same store, KILLS times at `sync_interval: always` and KILLS times at the default (group commit, fsync every
two minutes: a process kill leaves written pages to the OS, so acked must still mean kept).

After every restart the stream's last sequence is at least every sequence acknowledged so far; the
consumer's ack floor never moves back and never passes what was acked (at most the one ack in flight at
the kill; a kill may lose the last acks' position, so those are redelivered, never skipped), and it
never delivers at or below its floor.
At the end every acknowledged message is in the stream at its acknowledged sequence with its payload,
no message is stored twice, and the sequences have no gap. Run with `-m crash`."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
from dataclasses import dataclass, field

import nats
import pytest
from nats.errors import ConnectionClosedError, NoServersError, TimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from servers import start_server

pytestmark = pytest.mark.crash

KILLS = 50  # per durability setting: 100 kills in all, about three minutes
PUBLISHERS = 32
STREAM = "CRASH"
DURABLE = "worker"
FAILURES = (asyncio.CancelledError, ConnectionClosedError, NoServersError, TimeoutError, asyncio.TimeoutError, OSError,
            nats.errors.Error, nats.js.errors.Error)


def config(store_dir, sync: str) -> str:
    interval = "; sync_interval: always" if sync == "always" else ""
    return f'jetstream {{ store_dir: "{store_dir}"{interval} }}\n'


def payload(msg_id: str) -> bytes:
    return f"{msg_id}:".encode() + b"x" * (len(msg_id) % 37)


@dataclass
class Ledger:
    """What the client was told: acked msg ids with their sequence, and the consumer's confirmed acks."""

    next_id: int = 0
    acked: dict[str, int] = field(default_factory=dict)
    acked_seqs: dict[int, str] = field(default_factory=dict)  # the same, by sequence
    unacked: list[str] = field(default_factory=list)
    confirmed: set[int] = field(default_factory=set)
    floor: int = 0  # every sequence up to here was acked (confirmed, or the broker's floor says so)
    server_floor: int = 0  # the consumer's ack floor as the broker last reported it

    def fresh(self) -> str:
        self.next_id += 1
        return f"m-{self.next_id}"

    def confirm(self, seq: int) -> None:
        self.confirmed.add(seq)
        self._advance()

    def _advance(self) -> None:
        while self.floor + 1 in self.confirmed:
            self.floor += 1
            self.confirmed.discard(self.floor)

    def restored(self, floor: int) -> None:
        """The broker's floor after a restart: at most one ack (unconfirmed, in flight) above ours."""
        assert self.server_floor <= floor <= self.floor + 1, (
            f"ack floor {floor}: before {self.server_floor}, confirmed acks up to {self.floor}")
        self.server_floor = floor
        self.floor = max(self.floor, floor)
        self._advance()


async def publish_storm(js, ledger: Ledger) -> None:
    queue: list[str] = ledger.unacked
    ledger.unacked = []

    async def publisher() -> None:
        while True:
            msg_id = queue.pop() if queue else ledger.fresh()
            try:
                ack = await js.publish(f"crash.{len(msg_id) % 4}", payload(msg_id), timeout=2,
                                       headers={"Nats-Msg-Id": msg_id})
            except FAILURES:
                ledger.unacked.append(msg_id)
                return
            assert ack.stream == STREAM
            assert ledger.acked.setdefault(msg_id, ack.seq) == ack.seq, f"{msg_id} acked at two sequences"
            assert ledger.acked_seqs.setdefault(ack.seq, msg_id) == msg_id, f"sequence {ack.seq} reused"

    await asyncio.gather(*(publisher() for _ in range(PUBLISHERS)))


async def consume(js, ledger: Ledger, floor_at_start: int) -> None:
    subscription = await js.pull_subscribe_bind(DURABLE, STREAM)
    while True:
        try:
            messages = await subscription.fetch(50, timeout=0.3)
        except TimeoutError:
            continue
        except FAILURES:
            return
        for message in messages:
            seq = message.metadata.sequence.stream
            assert seq > floor_at_start, f"delivered {seq} at or below the ack floor {floor_at_start}"
            msg_id = message.data.split(b":")[0].decode()
            assert ledger.acked.get(msg_id, seq) == seq, f"{msg_id} delivered as {seq}"
            try:
                await message.ack_sync(timeout=2)
            except FAILURES:
                return
            ledger.confirm(seq)


async def one_life(url: str, ledger: Ledger, first: bool, rng: random.Random, kill) -> None:
    nc = await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2)
    js = nc.jetstream(timeout=2)
    if first:
        await js.add_stream(name=STREAM, subjects=["crash.>"])
        await js.add_consumer(STREAM, ConsumerConfig(durable_name=DURABLE, ack_policy=AckPolicy.EXPLICIT,
                                                     ack_wait=30))
    state = (await js.stream_info(STREAM)).state
    assert state.last_seq >= max(ledger.acked.values(), default=0), "acknowledged messages lost"
    floor = (await js.consumer_info(STREAM, DURABLE)).ack_floor.stream_seq
    ledger.restored(floor)
    work = [asyncio.ensure_future(publish_storm(js, ledger)), asyncio.ensure_future(consume(js, ledger, floor))]
    # The kill lands at a random point of the storm (a chosen moment, not a wait for an event).
    await asyncio.sleep(rng.uniform(0.05, 0.5))
    kill()
    with contextlib.suppress(OSError, nats.errors.Error):  # closing a dead connection may say "Connection lost"
        await nc.close()
    # What still waits for an answer will get none: unacknowledged, retried in the next life.
    for task in work:
        task.cancel()
    for outcome in await asyncio.gather(*work, return_exceptions=True):
        if isinstance(outcome, AssertionError):
            raise outcome


async def read_all(url: str) -> dict[int, str]:
    """Every stored message, seq -> msg id, read by an ephemeral consumer without acks."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    last = (await js.stream_info(STREAM)).state.last_seq
    subscription = await js.pull_subscribe("crash.>", stream=STREAM, config=ConsumerConfig(
        ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL))
    stored: dict[int, str] = {}
    while len(stored) < last:
        for message in await subscription.fetch(1000, timeout=2):
            stored[message.metadata.sequence.stream] = message.data.split(b":")[0].decode()
            assert message.data == payload(stored[message.metadata.sequence.stream])
    floor = (await js.consumer_info(STREAM, DURABLE)).ack_floor.stream_seq
    await nc.close()
    return stored, floor


@pytest.mark.parametrize("sync", ["always", "default"])
async def test_kill_9_in_a_publish_storm_never_loses_an_acked_message(tmp_path, sync):
    rng = random.Random(f"crash-{sync}")
    store_dir = tmp_path / "store"
    ledger = Ledger()
    for life in range(KILLS):
        server = start_server("edgenats", tmp_path / "servers", config(store_dir, sync))
        try:
            await one_life(server.url, ledger, life == 0, rng, lambda: server.stop(signal.SIGKILL))  # noqa: B023
        finally:
            server.stop(signal.SIGKILL)
        assert server.process.returncode == -signal.SIGKILL

    server = start_server("edgenats", tmp_path / "servers", config(store_dir, sync))
    try:
        stored, floor = await read_all(server.url)
    finally:
        server.stop()
    assert sorted(stored) == list(range(1, len(stored) + 1)), "a gap in the sequences"
    assert len(set(stored.values())) == len(stored), "a message stored twice"
    assert {msg_id: stored.get(seq) for msg_id, seq in ledger.acked.items()} == {
        msg_id: msg_id for msg_id in ledger.acked}, "an acknowledged message is missing"
    ledger.restored(floor)
    assert len(ledger.acked) > KILLS * 50, "the storms were too short to prove anything"
