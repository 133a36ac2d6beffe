"""The streams of one JetStream-enabled account and their consumers: create, update, delete and
reload from disk, with nats-server's rules across streams (one name, no two streams capturing the
same subject), and the account's JetStream limits (limits.py) on creates, updates, consumers and
every publish. File streams keep their metadata (meta.py), store and durable consumers under
`<root>/<account>/streams/<name>/`; memory streams and ephemeral consumers live in this process only."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from edgenats.jetstream import config as stream_config
from edgenats.jetstream import errors, meta
from edgenats.jetstream.consumer import Consumer
from edgenats.jetstream.limits import new_usage
from edgenats.jetstream.memory_store import MemoryStore
from edgenats.jetstream.stream import DEFAULT_INGEST, IngestLimits, Stream

if TYPE_CHECKING:
    from edgenats.account import Account
    from edgenats.jetstream.cipher import RecordCodec
    from edgenats.jetstream.limits import Accounting, JetStreamLimits
    from edgenats.jetstream.store import MessageStore, SyncPolicy


class AccountStreams:
    def __init__(self, account: Account, root: Path, sync: SyncPolicy, domain: str, limits: JetStreamLimits,
                 accounting: Accounting, codec_for: Callable[[Path, bool], RecordCodec],
                 ingest: IngestLimits = DEFAULT_INGEST) -> None:
        """`codec_for(folder, created)`: the record codec of the file stream in that folder."""
        self.account = account
        self.ingest = ingest
        self.folder = meta.streams_folder(root, account.name)
        self.sync = sync
        self.domain = domain
        self.limits = limits
        self.accounting = accounting
        self.codec_for = codec_for
        self.streams: dict[str, Stream] = {}
        self._moved: dict[Consumer, None] = {}  # durables whose ack floor moved this loop turn
        self._write_scheduled = False
        self.accounting.accounts[account.name] = self.live = []
        self.usage = new_usage()  # the account's, counted into by its streams' stores

    def _new_stream(self, config: dict, created_ns: int, store: MessageStore) -> Stream:
        storage = config["storage"]
        store.count_usage((self.usage[storage], self.accounting.usage[storage]))
        # (A stream's storage type never changes: an update may not change it.)
        stream = Stream(self.account, config, created_ns, store, self.domain, self.ingest,
                        admit=partial(self._admit, storage))
        self.streams[config["name"]] = stream
        self.live[:] = self.streams.values()
        return stream

    def _admit(self, storage: str, subject: str, headers_len: int, data_len: int) -> None:
        """Before a message is stored in a stream of `storage`: the server's and the account's limits."""
        self.accounting.check_publish(self.account.name, self.limits, self.usage[storage], storage, subject,
                                      headers_len, data_len)

    def load(self) -> None:
        """The file streams stored before the last stop, with their messages."""
        for folder, stored in meta.load_all(self.folder):
            store = self._open_store(stored.config, folder, created=False)
            stream = self._new_stream(stored.config, stored.created_ns, store)
            for kept in meta.load_consumers(folder):
                self.add_consumer(stream, kept["config"]["durable_name"], kept["config"], kept["created_ns"],
                                  position=(tuple(kept["delivered"]), tuple(kept["ack_floor"])))

    def _open_store(self, config: dict, folder: Path, created: bool) -> MessageStore:
        if config["storage"] == "memory":
            return MemoryStore()
        from edgenats.jetstream.file_store import open_file_store

        return open_file_store(folder / meta.STORE_FOLDER, self.sync, self.codec_for(folder, created))

    def get(self, name: str) -> Stream:
        stream = self.streams.get(name)
        if stream is None:
            raise errors.stream_not_found()
        return stream

    def _check_overlap(self, config: dict, itself: str | None = None) -> None:
        for name, stream in self.streams.items():
            if name == itself:
                continue
            for subject in config.get("subjects", []):
                if stream_config.collides(stream.config.get("subjects", []), subject):
                    raise errors.subjects_overlap()

    def create(self, config: dict) -> Stream:
        """A normalised config; an existing stream with the same config is returned as it is."""
        self.accounting.check_stream_room(self.limits, self.live, config)
        stream_config.check_create(config)
        self.accounting.check_stream_bytes(self.limits, config)
        existing = self.streams.get(config["name"])
        if existing is not None:
            if existing.config != config:
                raise errors.name_in_use()
            return existing
        self._check_overlap(config)
        folder = self.folder / config["name"]
        created_ns = time.time_ns()
        store = self._open_store(config, folder, created=True)
        if config.get("first_seq", 0) > 1:
            store.set_first_seq(config["first_seq"])
        if config["storage"] == "file":
            meta.save(folder, meta.StreamMeta(config, created_ns))
        return self._new_stream(config, created_ns, store)

    def update(self, config: dict) -> Stream:
        stream = self.get(config["name"])
        stream_config.check_update(stream.config, config)
        self.accounting.check_stream_bytes(self.limits, config)
        self.accounting.check_stream_room(self.limits, self.live, config, previous=stream.config)
        self._check_overlap(config, itself=stream.name)
        if config["storage"] == "file":
            meta.save(self.folder / stream.name, meta.StreamMeta(config, stream.created_ns))
        stream.update(config)
        return stream

    # consumers ---------------------------------------------------------------------------------

    def _kept(self, stream: Stream, config: dict) -> bool:
        """Whether a consumer's position is kept on disk: durables of file streams."""
        return stream.config["storage"] == "file" and bool(config.get("durable_name"))

    def add_consumer(self, stream: Stream, name: str, config: dict, created_ns: int,
                     position: tuple[tuple[int, int], tuple[int, int]] | None = None) -> Consumer:
        """A new consumer, or (with the `position` kept on disk: delivered, ack floor) a restored one."""
        kept = self._kept(stream, config)
        consumer = Consumer(self.account, stream.name, stream.store, name, config, created_ns, self.remove_consumer,
                            self._position_moved if kept else None, acked=stream.consumer_acked)
        stream.consumers[name] = consumer
        if position is not None:
            consumer.restore(*position)
        elif kept:
            self._save_consumer(consumer, durable=True)
        consumer.pump()
        return consumer

    def update_consumer(self, consumer: Consumer, config: dict) -> None:
        consumer.update(config)
        if self._kept(self.get(consumer.stream_name), config):
            self._save_consumer(consumer, durable=True)

    def _save_consumer(self, consumer: Consumer, durable: bool = False) -> None:
        meta.save_consumer(self.folder / consumer.stream_name, consumer.name, {
            "config": consumer.config, "created_ns": consumer.created_ns,
            "delivered": [consumer.delivered_sseq, consumer.delivered_cseq],
            "ack_floor": [consumer.floor_sseq, consumer.floor_cseq]}, durable)

    def _position_moved(self, consumer: Consumer) -> None:
        """A durable's ack floor moved: its file is rewritten once, after this loop turn, for all the
        acks of the turn (not once per ack: the loop does not wait on the disk for each). Not fsynced:
        after a crash the consumer may redeliver what was acked last, never skip."""
        self._moved[consumer] = None
        if not self._write_scheduled:
            self._write_scheduled = True
            asyncio.get_running_loop().call_soon(self._write_positions)

    def _write_positions(self) -> None:
        self._write_scheduled = False
        moved, self._moved = self._moved, {}
        for consumer in moved:
            self._save_consumer(consumer)

    def remove_consumer(self, consumer: Consumer) -> None:
        """Deleted by the API or idle past its inactive_threshold."""
        self._moved.pop(consumer, None)
        stream = self.streams.get(consumer.stream_name)
        removed = stream is not None and stream.consumers.get(consumer.name) is consumer
        if removed:
            del stream.consumers[consumer.name]
            if self._kept(stream, consumer.config):
                meta.remove_consumer(self.folder / stream.name, consumer.name)
        consumer.stop()
        if removed:
            stream.consumer_removed()  # interest retention: what only it needed goes

    def delete(self, name: str) -> None:
        stream = self.get(name)
        del self.streams[name]
        self.live[:] = self.streams.values()
        for consumer in stream.consumers.values():
            self._moved.pop(consumer, None)
        stream.store.count_usage(())
        stream.destroy()
        meta.remove(self.folder / name)

    async def close(self) -> None:
        self._write_positions()
        for stream in list(self.streams.values()):
            await stream.close()
            stream.store.count_usage(())
        self.streams.clear()
        self.live.clear()
