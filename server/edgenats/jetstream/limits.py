"""JetStream resource accounting: an account's JetStream limits (the `jetstream` entry of an account
in the `accounts` block, parsed with nats-server's key names and aliases), and the checks made against
them and against the server-wide `max_memory_store` / `max_file_store`, with nats-server's errors:

- stream create/update: max_bytes required (10113), above the per-stream cap (10122), the number of
  streams (10027), a max_consumers above the account's (10026), the bytes a stream reserves (its
  max_bytes, or 1 byte without one) against what the account and the server still have unreserved
  (10028 memory / 10047 storage);
- consumer create: the account's consumer count (10026) and max_ack_pending cap (10121);
- publish: the server's usage already above its maximum (10023), then the account's usage plus the
  message above its limit (10002).

Usage is counted as it changes, not summed per publish: each store's index adds its bytes into a
`Usage` of its account and one of the server, per storage type.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from edgenats.conf.units import parse_size
from edgenats.jetstream import errors
from edgenats.jetstream.store import file_message_size, memory_message_size

if TYPE_CHECKING:
    from edgenats.jetstream.stream import Stream

log = logging.getLogger("edgenats.jetstream")

UNLIMITED = -1
LOG_EVERY_S = 10.0  # refusals are logged at most this often: for the server, and per account and kind


@dataclass(frozen=True)
class JetStreamLimits:
    """nats-server's JetStreamAccountLimits, in its JSON order; -1 is no limit."""

    max_memory: int = UNLIMITED
    max_storage: int = UNLIMITED
    max_streams: int = UNLIMITED
    max_consumers: int = UNLIMITED
    max_ack_pending: int = UNLIMITED
    memory_max_stream_bytes: int = UNLIMITED
    storage_max_stream_bytes: int = UNLIMITED
    max_bytes_required: bool = False

    def to_json(self) -> dict:
        return asdict(self)


# Config key (lower case) -> field; the aliases are nats-server's (parseJetStreamForAccount).
_KEYS = {
    "max_memory": "max_memory", "max_mem": "max_memory", "mem": "max_memory", "memory": "max_memory",
    "max_store": "max_storage", "max_file": "max_storage", "max_disk": "max_storage", "store": "max_storage",
    "disk": "max_storage",
    "max_streams": "max_streams", "streams": "max_streams",
    "max_consumers": "max_consumers", "consumers": "max_consumers",
    "max_bytes_required": "max_bytes_required", "max_stream_bytes": "max_bytes_required",
    "max_bytes": "max_bytes_required",
    "mem_max_stream_bytes": "memory_max_stream_bytes", "memory_max_stream_bytes": "memory_max_stream_bytes",
    "disk_max_stream_bytes": "storage_max_stream_bytes", "store_max_stream_bytes": "storage_max_stream_bytes",
    "max_ack_pending": "max_ack_pending",
}
_SIZES = ("max_memory", "max_storage", "memory_max_stream_bytes", "storage_max_stream_bytes")
_ENABLED = {"enabled": True, "enable": True, "disabled": False, "disable": False}


def parse_account_jetstream(value: object, where: str) -> JetStreamLimits | None:
    """An account's `jetstream: enabled | true | false | { limits }`; None when it stays off."""
    if isinstance(value, bool):
        return JetStreamLimits() if value else None
    if isinstance(value, str):
        if value.lower() not in _ENABLED:
            raise ValueError(f"{where}: Expected 'enabled' or 'disabled' for string value, got '{value}'")
        return JetStreamLimits() if _ENABLED[value.lower()] else None
    if not isinstance(value, dict):
        raise ValueError(f"{where}: Expected map, bool or string to define JetStream")
    fields: dict = {}
    for key, item in value.items():
        name = _KEYS.get(str(key).lower())
        if name is None:
            raise ValueError(f'{where}: unknown field "{key}"')
        if name == "max_bytes_required":
            if not isinstance(item, bool):
                raise ValueError(f'{where}: Expected a parseable bool for "{key}", got {item!r}')
            fields[name] = item
            continue
        try:
            number = parse_size(item) if name in _SIZES else item
        except ValueError:
            number = None
        if isinstance(number, bool) or not isinstance(number, int):
            raise ValueError(f'{where}: Expected a parseable size for "{key}", got {item!r}')
        fields[name] = number
    return JetStreamLimits(**fields)


class Usage:
    """The bytes the streams of one storage type hold: an account's or the whole server's."""

    __slots__ = ("bytes",)

    def __init__(self) -> None:
        self.bytes = 0


def new_usage() -> dict[str, Usage]:
    """A usage counter per storage type."""
    return {"memory": Usage(), "file": Usage()}


def _over(limit: int, used: int, adding: int) -> bool:
    """nats-server's checkBytesLimits test: nothing left, or not enough left for `adding`."""
    return limit >= 0 and (used > limit or adding > limit - used)


class Accounting:
    """What the streams of every JetStream account use and reserve, against the account's limits and
    the server's maxima (max_memory_store, max_file_store)."""

    def __init__(self, max_memory: int, max_storage: int) -> None:
        self.max_memory = max_memory
        self.max_storage = max_storage
        self.accounts: dict[str, list[Stream]] = {}  # filled by the registries: name -> live streams
        self.usage = new_usage()  # the server's, counted into by every stream's store
        self._logged: dict[str, float] = {}

    def server_reserved(self, storage: str) -> int:
        return sum(reserved(streams, storage) for streams in self.accounts.values())

    @staticmethod
    def check_stream_bytes(limits: JetStreamLimits, config: dict) -> None:
        """max_bytes as the account requires it: set (10113), within the per-stream cap (10122)."""
        cap = limits.memory_max_stream_bytes if config["storage"] == "memory" else limits.storage_max_stream_bytes
        if limits.max_bytes_required and config["max_bytes"] <= 0:
            raise errors.max_bytes_required()
        if cap > 0 and config["max_bytes"] > cap:
            raise errors.stream_max_bytes_exceeded()

    def check_stream_room(self, limits: JetStreamLimits, streams: list[Stream], config: dict,
                          previous: dict | None = None) -> None:
        """A stream create (previous None) or update: the stream count, its max_consumers against the
        account's, then the bytes it reserves."""
        others = [stream for stream in streams if stream.name != config["name"]]
        if previous is None and 0 < limits.max_streams <= len(others):
            raise errors.max_streams_reached()
        if 0 < limits.max_consumers < config["max_consumers"]:
            raise errors.max_consumers_reached()
        if previous is not None and max(config["max_bytes"], 0) <= max(previous["max_bytes"], 0):
            return  # nats-server reserves only a growth of max_bytes on update
        storage = config["storage"]
        memory = storage == "memory"
        adding = config["max_bytes"] if config["max_bytes"] > 0 else 1
        refusal = errors.memory_resources_exceeded if memory else errors.storage_resources_exceeded
        if _over(limits.max_memory if memory else limits.max_storage, reserved(others, storage), adding):
            raise refusal()
        itself = [stream for stream in streams if stream.name == config["name"]]
        server_others = self.server_reserved(storage) - reserved(itself, storage)
        if _over(self.max_memory if memory else self.max_storage, server_others, adding):
            raise refusal()

    def check_consumer(self, limits: JetStreamLimits, streams: list[Stream], config: dict) -> None:
        if 0 < limits.max_consumers <= sum(len(stream.consumers) for stream in streams):
            raise errors.max_consumers_reached()
        if 0 < limits.max_ack_pending < config.get("max_ack_pending", 0):
            raise errors.max_ack_pending_exceeded(limits.max_ack_pending)

    def check_publish(self, account: str, limits: JetStreamLimits, usage: Usage, storage: str,
                      subject: str, headers_len: int, data_len: int) -> None:
        """Before a message is stored: the server's maximum, then the account's (`usage`: the account's
        of this storage type)."""
        memory = storage == "memory"
        server_limit = self.max_memory if memory else self.max_storage
        if server_limit >= 0 and self.usage[storage].bytes > server_limit:
            kind = "memory" if memory else "storage"
            self._log_refusal("server", f"JetStream {kind} resource limits exceeded for server")
            raise errors.insufficient_resources()
        account_limit = limits.max_memory if memory else limits.max_storage
        if account_limit < 0:
            return
        measure = memory_message_size if memory else file_message_size
        if usage.bytes + measure(subject, headers_len, data_len) > account_limit:
            kind = "memory" if memory else "storage"
            self._log_refusal(f"{kind} {account}",
                              f'JetStream {kind} resource limits exceeded for account: "{account}"')
            raise errors.account_resources_exceeded()

    def _log_refusal(self, key: str, message: str) -> None:
        now = time.monotonic()
        if now - self._logged.get(key, -LOG_EVERY_S) >= LOG_EVERY_S:
            self._logged[key] = now
            log.warning(message)


def reserved(streams: list[Stream], storage: str) -> int:
    """The bytes the streams of one storage type reserve: their max_bytes, where set."""
    return sum(stream.config["max_bytes"] for stream in streams
               if stream.config["storage"] == storage and stream.config["max_bytes"] > 0)

