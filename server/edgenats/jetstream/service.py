"""JetStream in the server: the data folder, which accounts it is enabled in and with what limits, their
stream registries and API responders; started after the accounts exist, stopped (streams drained and
stores closed) before the server exits.

As in nats-server: with no configured account but the system account, the global account `$G` gets
JetStream without limits; otherwise the accounts whose `jetstream` entry enables it, with their limits.
Every other account (the system account too) answers each `$JS.API` request with 503/10039. In
operator mode an account's JWT says it when the account is loaded or its JWT changes
(`configure_account`): on with its limits, new limits, or off (its streams closed, kept on disk).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from typing import TYPE_CHECKING

from edgenats.jetstream import errors
from edgenats.jetstream.api import API_LEVEL, JetStreamApi, error_document
from edgenats.jetstream.cipher import CIPHER_NAMES, AtRest
from edgenats.jetstream.limits import Accounting, JetStreamLimits
from edgenats.jetstream.store import SyncPolicy
from edgenats.jetstream.stream import IngestLimits
from edgenats.jetstream.streams import AccountStreams

if TYPE_CHECKING:
    from collections.abc import Callable

    from edgenats.account import Account
    from edgenats.account_config import AccountSettings
    from edgenats.jetstream.settings import JetStreamSettings

log = logging.getLogger("edgenats.jetstream")

GLOBAL_ACCOUNT = "$G"


def enabled_accounts(settings: dict[str, AccountSettings], system_account: str) -> dict[str, JetStreamLimits]:
    """The accounts JetStream runs in, with their limits (nats-server's enableJetStreamAccounts)."""
    if not [name for name in settings if name != system_account]:
        return {GLOBAL_ACCOUNT: JetStreamLimits()}
    return {name: account.jetstream for name, account in settings.items()
            if account.jetstream is not None and name != system_account}


def default_maxima(settings: JetStreamSettings, root) -> tuple[int, int]:
    """max_memory_store and max_file_store, or nats-server's defaults: 75% of the memory and 75% of
    the store's free disk space, measured at start."""
    memory = settings.max_memory_store
    if memory < 0:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") * 3 // 4
    storage = settings.max_file_store
    if storage < 0:
        storage = shutil.disk_usage(root).free * 3 // 4
    return memory, storage


class DisabledApi:
    """`$JS.API.>` of an account without JetStream: 503/10039 to every request with a reply, but
    no responder for pulls (CONSUMER.MSG.NEXT) and DIRECT.GET, as nats-server."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self._subscription = account.subscribe_internal("$JS.API.>", self._request)

    def _request(self, subject: str, reply: str | None, headers: bytes | None, payload: bytes) -> int:
        tokens = subject.split(".")[2:]
        if tokens[0] == "DIRECT" or tokens[:3] == ["CONSUMER", "MSG", "NEXT"]:
            return 0
        if reply:
            self.account.publish_internal(reply, error_document(tokens, errors.not_enabled_for_account()))
        return 1

    def stop(self) -> None:
        self.account.unsubscribe_internal(self._subscription)


class JetStream:
    def __init__(self, settings: JetStreamSettings, server_name: str) -> None:
        self.settings = settings
        self.server_name = server_name
        self.root, self.temporary = settings.root()
        interval = settings.sync_interval
        self.sync = SyncPolicy(always=True) if interval is None else SyncPolicy(interval_s=interval)
        self.at_rest = AtRest(settings.cipher, settings.key)
        self.accounting = Accounting(-1, -1)
        self.accounts: dict[str, tuple[AccountStreams, JetStreamApi]] = {}
        self._disabled: list[DisabledApi] = []
        # Accounts whose JetStream was turned off: their streams closing.
        self._closing: set[asyncio.Task] = set()

    def start(self, account: Callable[[str], Account], settings: dict[str, AccountSettings],
              system_account: str, *, from_jwts: bool = False) -> None:
        """Enable JetStream in the accounts the config names (`from_jwts`: in none yet, operator mode's
        accounts get theirs from their JWTs); raises cipher.CipherError when a stored stream does not
        open with the configured key."""
        log.info("Starting JetStream")
        if self.temporary:
            log.warning("Temporary storage directory used, data could be lost on system reboot")
        self.root.mkdir(parents=True, exist_ok=True)
        self.accounting.max_memory, self.accounting.max_storage = default_maxima(self.settings, self.root)
        log.info("  Max Memory:      %d bytes", self.accounting.max_memory)
        log.info("  Max Storage:     %d bytes", self.accounting.max_storage)
        log.info("  Store Directory: %r", str(self.root))
        if self.settings.domain:
            log.info("  Domain:          %s", self.settings.domain)
        if self.settings.key:
            log.info("  Encryption:      %s", CIPHER_NAMES[self.settings.cipher])
        log.info("  API Level:       %d", API_LEVEL)
        enabled = {} if from_jwts else enabled_accounts(settings, system_account)
        for name, limits in enabled.items():
            self._enable(account(name), limits)
        for name in dict.fromkeys([GLOBAL_ACCOUNT, system_account, *settings]):
            if name not in enabled:
                self._disabled.append(DisabledApi(account(name)))

    def _enable(self, account: Account, limits: JetStreamLimits) -> None:
        def codec_for(folder, created):
            return self.at_rest.codec_for(folder, created, f"{account.name} > {folder.name}")

        ingest = IngestLimits(self.settings.max_buffered_msgs, self.settings.max_buffered_size)
        streams = AccountStreams(account, self.root, self.sync, self.settings.domain, limits, self.accounting,
                                 codec_for, ingest)
        streams.load()
        api = JetStreamApi(streams, self.server_name)
        api.start()
        self.accounts[account.name] = (streams, api)
        if streams.streams:
            log.info("  Restored %d stream(s) in account %s", len(streams.streams), account.name)

    def configure_account(self, account: Account, limits: JetStreamLimits | None) -> None:
        """Operator mode: JetStream in `account` on with `limits`, at new limits, or off (None)."""
        running = self.accounts.get(account.name)
        if running is not None and limits is not None:
            running[0].limits = limits
            return
        disabled = [api for api in self._disabled if api.account is account]
        if limits is not None:
            for api in disabled:
                api.stop()
                self._disabled.remove(api)
            self._enable(account, limits)
            return
        if running is not None:
            streams, api = self.accounts.pop(account.name)
            api.stop()
            closing = asyncio.get_running_loop().create_task(streams.close())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        if not disabled:
            self._disabled.append(DisabledApi(account))

    def reloadable(self, settings: dict[str, AccountSettings], system_account: str) -> bool:
        """Whether a reloaded config leaves JetStream on in the same accounts (only limits may change)."""
        return set(enabled_accounts(settings, system_account)) == set(self.accounts)

    def apply_limits(self, settings: dict[str, AccountSettings], system_account: str) -> None:
        """A reload's account limits, for what is created or stored from now on."""
        for name, limits in enabled_accounts(settings, system_account).items():
            self.accounts[name][0].limits = limits

    def write_problem(self) -> str | None:
        """The first stream whose store could not write its last message (for /healthz), as nats-server
        words it."""
        for name, (streams, _api) in self.accounts.items():
            for stream in streams.streams.values():
                if stream.write_error is not None:
                    return f"JetStream stream '{name} > {stream.name}' write error: {stream.write_error}"
        return None

    async def stop(self) -> None:
        log.info("Initiating JetStream Shutdown...")
        for disabled in self._disabled:
            disabled.stop()
        self._disabled.clear()
        if self._closing:
            await asyncio.gather(*self._closing)
        for streams, api in self.accounts.values():
            api.stop()
            await streams.close()
        self.accounts.clear()
        log.info("JetStream Shutdown")
