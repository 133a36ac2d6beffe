"""The directory account resolver (`resolver { type: full, dir: <path> }`): its settings, checked as
nats-server checks them, and the store of account JWTs it keeps in that folder.

One file per account, `<dir>/<account public key>.jwt` holding the JWT text, as nats-server's full
resolver lays them out (so a folder one of them wrote can be handed to the other). Every file is read
at start and kept in memory (account JWTs are a few kilobytes); a write goes to a temporary file that
is fsynced, renamed over the old one, and the folder fsynced: a power cut on an SD card leaves the old
JWT or the new one, never half of one. With `allow_delete` a deleted account's file is renamed to
`<key>.jwt.deleted` (or removed with `hard_delete`), as nats-server does.

edgenats does not cluster, so there is no other server to exchange JWTs with: `interval` (how often
nats-server compares its folder with its cluster's) and `timeout` (how long it asks other servers for
an account it does not hold) are checked and kept, and have nothing to act on.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edgenats.auth.jwt_codec import JwtError, decode_jwt
from edgenats.auth.nkey_keys import PREFIX_ACCOUNT, public_key_bytes
from edgenats.conf.units import parse_duration
from edgenats.durable_files import fsync_path, replace_file

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger("edgenats")

_SUFFIX = ".jwt"
_DELETED_SUFFIX = ".deleted"
# nats-server's defaults: compare with the cluster every minute, ask it for 1.9 s at most.
DEFAULT_INTERVAL = 60.0
DEFAULT_FETCH_TIMEOUT = 1.9
_RESOLVER_KINDS = "should be MEM or  URL(\"url\") or a map containing dir and type state=[FULL|CACHE])"


class ResolverError(Exception):
    """A store operation that failed; the text is nats-server's where it has one."""


@dataclass(frozen=True)
class DirResolverSettings:
    """`resolver { type: full, dir, allow_delete, hard_delete, limit, interval, timeout }`."""

    dir: str
    allow_delete: bool = False
    hard_delete: bool = False
    # The most accounts the folder may hold; 0 for no limit.
    limit: int = 0
    interval: float = DEFAULT_INTERVAL
    timeout: float = DEFAULT_FETCH_TIMEOUT


def _duration(value: object, key: str) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError:
        raise ValueError(f"time: invalid duration {value!r}") from None
    if seconds <= 0 and key == "timeout":
        raise ValueError(f"Fetch timeout {value} is too smal")
    return seconds


def parse_dir_resolver(block: dict) -> DirResolverSettings:
    """A resolver block's settings; raises ValueError with nats-server's text for what it refuses."""
    fields = {str(key).lower(): value for key, value in block.items()}
    kind = str(fields.get("type", "")).upper()
    if kind == "CACHE":
        raise ValueError("resolver type CACHE is not supported by edgenats (use type: full)")
    if kind in ("MEM", "MEMORY") or kind != "FULL":
        raise ValueError(f"error parsing account resolver, {_RESOLVER_KINDS}")
    for key in fields:
        if key not in ("type", "dir", "allow_delete", "hard_delete", "limit", "ttl", "interval", "timeout"):
            raise ValueError(f"resolver: unknown field {key!r}")
    directory = fields.get("dir", "")
    if not isinstance(directory, str) or not directory:
        raise ValueError("dir has no value and needs to point to a directory")
    if os.path.exists(directory) and (not os.path.isdir(directory) or not os.access(directory, os.X_OK)):
        raise ValueError("dir needs to point to an accessible directory")
    if "ttl" in fields:
        raise ValueError("FULL does not accept ttl")
    allow_delete = fields.get("allow_delete", False)
    hard_delete = fields.get("hard_delete", False)
    if not isinstance(allow_delete, bool) or not isinstance(hard_delete, bool):
        raise ValueError("resolver: allow_delete and hard_delete must be true or false")
    if "hard_delete" in fields and not allow_delete:
        raise ValueError("hard_delete has no effect without delete")
    limit = fields.get("limit", 0)
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise ValueError(f"resolver: limit must be an integer, got {limit!r}")
    interval = _duration(fields["interval"], "interval") if "interval" in fields else DEFAULT_INTERVAL
    timeout = _duration(fields["timeout"], "timeout") if "timeout" in fields else DEFAULT_FETCH_TIMEOUT
    return DirResolverSettings(directory, allow_delete, hard_delete, max(limit, 0),
                               interval if interval > 0 else DEFAULT_INTERVAL, timeout)


def is_account_key(key: object) -> bool:
    return public_key_bytes(key, PREFIX_ACCOUNT) is not None


class DirectoryResolver:
    """The account JWTs of one folder: `fetch` serves them, `save`, `save_if_newer` and `delete` change
    them on disk first, then in memory."""

    def __init__(self, settings: DirResolverSettings) -> None:
        from pathlib import Path  # with a directory resolver only

        self.settings = settings
        self.folder = Path(settings.dir)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._jwts: dict[str, str] = {}
        for path in sorted(self.folder.glob(f"*{_SUFFIX}")):
            key = path.name[: -len(_SUFFIX)]
            if is_account_key(key):
                self._jwts[key] = path.read_text().strip()
        log.info("Managing all jwt in exclusive directory %s", self.folder)

    @property
    def deletes(self) -> bool:
        return self.settings.allow_delete

    def fetch(self, account_key: str) -> str | None:
        return self._jwts.get(account_key)

    def keys(self) -> list[str]:
        """The accounts held, in the folder's (lexical) order, as nats-server lists them."""
        return sorted(self._jwts)

    def save(self, account_key: str, token: str) -> bool:
        """Store `token` as the account's JWT; False when it is the one already stored."""
        if not is_account_key(account_key):
            raise ResolverError("invalid public key")
        if not token:
            raise ResolverError("invalid JWT")
        if self._jwts.get(account_key) == token:
            return False
        limit = self.settings.limit
        if account_key not in self._jwts and limit and len(self._jwts) >= limit:
            raise ResolverError("jwt store is full")
        self._write(account_key, token)
        self._jwts[account_key] = token
        return True

    def save_if_newer(self, account_key: str, token: str) -> bool:
        """A preloaded JWT: stored unless the folder holds one issued later (nats-server's Store)."""
        stored = self._jwts.get(account_key)
        if stored is not None:
            try:
                stored_issued_at = decode_jwt(stored, "account").get("iat", 0)
            except JwtError:
                stored_issued_at = None
            if stored_issued_at is not None and stored_issued_at > decode_jwt(token, "account").get("iat", 0):
                return False
        return self.save(account_key, token)

    def delete(self, account_key: str) -> bool:
        """Remove the account's JWT (renamed to `.jwt.deleted` unless `hard_delete`); False when absent.
        Only with `allow_delete` (the caller checks `deletes`)."""
        if account_key not in self._jwts:
            return False
        path = self._path(account_key)
        try:
            if self.settings.hard_delete:
                path.unlink()
            else:
                path.replace(path.with_name(path.name + _DELETED_SUFFIX))
        except FileNotFoundError:
            pass
        fsync_path(self.folder)
        del self._jwts[account_key]
        return True

    def _path(self, account_key: str) -> Path:
        return self.folder / f"{account_key}{_SUFFIX}"

    def _write(self, account_key: str, token: str) -> None:
        try:
            replace_file(self._path(account_key), token)
        except OSError as error:
            raise ResolverError(str(error)) from None
