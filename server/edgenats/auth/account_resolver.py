"""Where operator mode finds account JWTs: the resolver interface and its MEMORY implementation.

A resolver answers `fetch(account_key)` with the account's JWT text, or None when it has none. It does
not judge the token: whether it is a well-formed account JWT of that key, signed by a trusted operator
and not expired is checked at each use (`jwt_login`), as nats-server does. `resolver: MEMORY` (or `MEM`)
serves the `resolver_preload` map, each entry checked at start to decode as an account JWT;
`resolver { type: full, dir }` is the directory resolver (dir_resolver.py), into whose folder the
preloaded JWTs are stored unless it holds a newer one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from .dir_resolver import DirectoryResolver, DirResolverSettings, parse_dir_resolver
from .errors import AuthConfigError
from .jwt_codec import JwtError, decode_jwt
from .nkey_keys import PREFIX_ACCOUNT, public_key_bytes

MEMORY = "MEMORY"
FULL = "FULL"
_MEMORY_NAMES = ("MEM", "MEMORY")


class AccountResolver(Protocol):
    """What operator mode asks of every resolver kind."""

    def fetch(self, account_key: str) -> str | None:
        """The JWT of the account with public key `account_key`, or None when unknown."""


@dataclass(frozen=True)
class ResolverSettings:
    """The `resolver` setting and `resolver_preload`, validated."""

    kind: str = MEMORY
    preload: dict[str, str] = field(default_factory=dict)
    # The directory resolver's settings (kind FULL).
    directory: DirResolverSettings | None = None

    def fixed(self) -> ResolverSettings:
        """These settings less what a reload applies (the preloaded JWTs, as nats-server reloads them); a
        directory resolver's settings stay fixed."""
        return ResolverSettings(self.kind, directory=self.directory)


class MemoryResolver:
    """`resolver: MEMORY`: the preloaded account JWTs; a claims update of an account in use replaces its
    JWT until the next start or reload (nats-server keeps it in the live account, which logins reuse)."""

    def __init__(self, preload: dict[str, str]) -> None:
        self._jwts = dict(preload)

    def fetch(self, account_key: str) -> str | None:
        return self._jwts.get(account_key)

    def replace(self, account_key: str, token: str) -> None:
        self._jwts[account_key] = token


def parse_resolver(value: object) -> tuple[str, DirResolverSettings | None]:
    """The `resolver` setting's kind, and the directory resolver's settings for kind FULL (an URL
    resolver and `type: cache` are refused by name)."""
    if isinstance(value, str) and value.upper() in _MEMORY_NAMES:
        return MEMORY, None
    if isinstance(value, dict):
        try:
            return FULL, parse_dir_resolver(value)
        except ValueError as error:
            raise AuthConfigError(str(error)) from None
    if isinstance(value, str) and value.upper().startswith("URL("):
        raise AuthConfigError(f"resolver: {value!r}: URL resolvers are not supported by edgenats")
    raise AuthConfigError('error parsing account resolver, should be MEM or  URL("url") or a map containing '
                          "dir and type state=[FULL|CACHE])")


def parse_preload(value: object) -> dict[str, str]:
    """`resolver_preload { <account public key>: <account JWT> }`."""
    if not isinstance(value, dict):
        raise AuthConfigError(f"resolver_preload: expected a map of account keys to JWTs, got {value!r}")
    preload: dict[str, str] = {}
    for key, token in value.items():
        if public_key_bytes(key, PREFIX_ACCOUNT) is None:
            raise AuthConfigError(f"resolver_preload: {key!r} is not a public account key")
        try:
            decode_jwt(token, "account")
        except JwtError:
            raise AuthConfigError("invalid account JWT") from None
        preload[str(key)] = token.strip()
    return preload


def build_resolver(settings: ResolverSettings) -> AccountResolver:
    """The resolver the settings describe (a directory resolver's folder read, preloads stored in it)."""
    if settings.directory is None:
        return MemoryResolver(settings.preload)
    resolver = DirectoryResolver(settings.directory)
    store_preloads(resolver, settings.preload)
    return resolver


def store_preloads(resolver: DirectoryResolver, preload: dict[str, str]) -> list[str]:
    """Preloaded JWTs stored in a directory resolver's folder unless it holds a newer one (at start and
    on a reload that changes them); the keys whose JWT changed."""
    return [key for key, token in preload.items() if resolver.save_if_newer(key, token)]
