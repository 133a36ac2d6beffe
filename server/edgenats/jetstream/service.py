"""JetStream in the server: the data folder, the accounts it is enabled in ($G, the global account),
their stream registries and API responders; started after the accounts exist, stopped (streams
drained and stores closed) before the server exits."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from edgenats.jetstream.api import API_LEVEL, JetStreamApi
from edgenats.jetstream.store import SyncPolicy
from edgenats.jetstream.stream import IngestLimits
from edgenats.jetstream.streams import AccountStreams

if TYPE_CHECKING:
    from edgenats.account import Account
    from edgenats.jetstream.settings import JetStreamSettings

log = logging.getLogger("edgenats.jetstream")

ACCOUNT_LIMITS = {"max_memory": -1, "max_storage": -1, "max_streams": -1, "max_consumers": -1,
                  "max_ack_pending": -1, "memory_max_stream_bytes": -1, "storage_max_stream_bytes": -1,
                  "max_bytes_required": False}


class JetStream:
    def __init__(self, settings: JetStreamSettings, server_name: str) -> None:
        self.settings = settings
        self.server_name = server_name
        self.root, self.temporary = settings.root()
        interval = settings.sync_interval
        self.sync = SyncPolicy(always=True) if interval is None else SyncPolicy(interval_s=interval)
        self.accounts: dict[str, tuple[AccountStreams, JetStreamApi]] = {}

    def start(self, accounts: list[Account]) -> None:
        log.info("Starting JetStream")
        if self.temporary:
            log.warning("Temporary storage directory used, data could be lost on system reboot")
        self.root.mkdir(parents=True, exist_ok=True)
        log.info("  Store Directory: %r", str(self.root))
        if self.settings.domain:
            log.info("  Domain:          %s", self.settings.domain)
        log.info("  API Level:       %d", API_LEVEL)
        for account in accounts:
            ingest = IngestLimits(self.settings.max_buffered_msgs, self.settings.max_buffered_size)
            streams = AccountStreams(account, self.root, self.sync, self.settings.domain, ingest)
            streams.load()
            api = JetStreamApi(streams, self.server_name, ACCOUNT_LIMITS)
            api.start()
            self.accounts[account.name] = (streams, api)
            if streams.streams:
                log.info("  Restored %d stream(s) in account %s", len(streams.streams), account.name)

    async def stop(self) -> None:
        log.info("Initiating JetStream Shutdown...")
        for streams, api in self.accounts.values():
            api.stop()
            await streams.close()
        self.accounts.clear()
        log.info("JetStream Shutdown")
