"""The `jetstream` config block and flags: `jetstream: enabled|true|false`, or
`jetstream { store_dir, max_memory_store, max_file_store, domain, sync_interval, cipher, key,
max_buffered_msgs, max_buffered_size }`. As in nats-server the data lives in `<store_dir>/jetstream`, and
without a store_dir in a temporary folder; a `key` turns on encryption at rest (cipher `chachapoly`, the
default, or `aes`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edgenats.conf.units import parse_size, positive_duration

if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_SYNC_INTERVAL = 120.0


@dataclass(frozen=True)
class JetStreamSettings:
    enabled: bool = False
    store_dir: str = ""
    max_memory_store: int = -1
    max_file_store: int = -1
    domain: str = ""
    # None = "always": every append is on disk before it is acknowledged.
    sync_interval: float | None = DEFAULT_SYNC_INTERVAL
    cipher: str = "chachapoly"
    key: str = ""
    # Per stream, captured and not yet stored: beyond either a publish is dropped (nats-server's defaults).
    max_buffered_msgs: int = 100_000
    max_buffered_size: int = 128 * 1024 * 1024

    def root(self) -> tuple[Path, bool]:
        """The data folder, and whether it is the temporary default."""
        from pathlib import Path  # with JetStream only

        if self.store_dir:
            return Path(self.store_dir) / "jetstream", False
        import tempfile

        return Path(tempfile.gettempdir()) / "edgenats" / "jetstream", True


_CIPHERS = {"chacha": "chachapoly", "chachapoly": "chachapoly", "aes": "aes"}
_ENABLED_WORDS = {"enabled": True, "enable": True, "true": True, "disabled": False, "disable": False,
                  "false": False}


def parse_jetstream(value: Any) -> JetStreamSettings:
    if isinstance(value, bool):
        return JetStreamSettings(enabled=value)
    if isinstance(value, str):
        if value.lower() not in _ENABLED_WORDS:
            raise ValueError(f"jetstream: expected enabled, disabled or a block, got {value!r}")
        return JetStreamSettings(enabled=_ENABLED_WORDS[value.lower()])
    if not isinstance(value, dict):
        raise ValueError("jetstream must be true, false, enabled, disabled or a block { ... }")
    fields: dict[str, Any] = {"enabled": True}
    for key, item in value.items():
        name = key.lower()
        if name in ("store_dir", "store", "storedir"):
            if not isinstance(item, str):
                raise ValueError(f"jetstream.{key} must be a string")
            fields["store_dir"] = item
        elif name in ("max_memory_store", "max_mem_store", "max_mem"):
            fields["max_memory_store"] = parse_size(item)
        elif name in ("max_file_store", "max_file"):
            fields["max_file_store"] = parse_size(item)
        elif name == "domain":
            if not isinstance(item, str) or not item or any(ch in item for ch in ". *>"):
                raise ValueError(f"jetstream.domain must be a name without '.', '*', '>' or spaces, got {item!r}")
            fields["domain"] = item
        elif name == "sync_interval":
            fields["sync_interval"] = (None if isinstance(item, str) and item.lower() == "always"
                                       else positive_duration(item, "jetstream.sync_interval"))
        elif name == "cipher":
            if not isinstance(item, str) or item.lower() not in _CIPHERS:
                raise ValueError(f'jetstream.cipher: Unknown cipher type: "{item}"')
            fields["cipher"] = _CIPHERS[item.lower()]
        elif name in ("key", "ek", "encryption_key"):
            if not isinstance(item, str) or not item:
                raise ValueError("jetstream.key must be a non-empty string")
            fields["key"] = item
        elif name == "max_buffered_msgs":
            if isinstance(item, bool) or not isinstance(item, int) or item <= 0:
                raise ValueError(f"jetstream.max_buffered_msgs must be a positive number, got {item!r}")
            fields["max_buffered_msgs"] = item
        elif name == "max_buffered_size":
            fields["max_buffered_size"] = parse_size(item)
        elif name in ("enabled", "enable"):
            if not isinstance(item, bool):
                raise ValueError(f"jetstream.{key} must be true or false")
            fields["enabled"] = item
        else:
            raise ValueError(f'jetstream: unknown field "{key}"')
    return JetStreamSettings(**fields)
