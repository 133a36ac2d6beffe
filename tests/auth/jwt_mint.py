"""Minting an operator, its accounts and their users for operator-mode tests (the `nkeys` library signs),
and the config both brokers start from: `operator`, `resolver: MEMORY`, `resolver_preload`."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path

import nkeys
from edgenats.auth.jwt_codec import encode_jwt, format_creds

# An account or user JWT as nsc makes it: no limits unless a test sets some.
UNLIMITED_ACCOUNT = {"subs": -1, "conn": -1, "leaf": -1, "imports": -1, "exports": -1, "data": -1,
                     "payload": -1, "wildcards": True}
UNLIMITED_USER = {"subs": -1, "data": -1, "payload": -1}


@dataclass(frozen=True)
class Key:
    seed: bytes
    public: str

    @classmethod
    def new(cls, prefix: int) -> Key:
        seed = nkeys.encode_seed(os.urandom(32), prefix)
        return cls(seed, nkeys.from_seed(bytearray(seed)).public_key.decode())

    def sign(self, nonce: str) -> str:
        """The CONNECT `sig` of an INFO nonce."""
        signature = nkeys.from_seed(bytearray(self.seed)).sign(nonce.encode())
        return base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def account_key() -> Key:
    return Key.new(nkeys.PREFIX_BYTE_ACCOUNT)


def user_key() -> Key:
    return Key.new(nkeys.PREFIX_BYTE_USER)


@dataclass
class Operator:
    """An operator with a system account and the accounts a test adds; `config()` trusts it."""

    key: Key = field(default_factory=lambda: Key.new(nkeys.PREFIX_BYTE_OPERATOR))
    signing_key: Key = field(default_factory=lambda: Key.new(nkeys.PREFIX_BYTE_OPERATOR))
    system: Key = field(default_factory=account_key)
    accounts: dict[str, str] = field(default_factory=dict)
    # `strict_signing_key_usage`: accounts (the system account too) are signed by the signing key.
    strict: bool = False

    def __post_init__(self) -> None:
        self.jwt = encode_jwt({"sub": self.key.public, "name": "edge-op", "nats": {
            "type": "operator", "system_account": self.system.public,
            "signing_keys": [self.signing_key.public], "strict_signing_key_usage": self.strict}}, self.key.seed)
        self.add_account(self.system, "SYS", signer=self.signing_key if self.strict else None)

    def add_account(self, account: Key, name: str, signer: Key | None = None, top: dict | None = None,
                    **nats) -> str:
        """Preload an account JWT (signed by the operator unless `signer`); `nats` adds claims, `top`
        fields beside them (exp)."""
        claims = {"type": "account", "limits": dict(UNLIMITED_ACCOUNT)} | nats
        token = encode_jwt({"sub": account.public, "name": name, "nats": claims, **(top or {})},
                           (signer or self.key).seed)
        self.accounts[account.public] = token
        return token

    def config(self, operator_value: str | None = None) -> str:
        preload = "\n".join(f"  {key}: {token}" for key, token in self.accounts.items())
        return f"operator: {operator_value or self.jwt}\nresolver: MEMORY\nresolver_preload: {{\n{preload}\n}}\n"


def user_jwt(user: Key, signer: Key, name: str = "dev1", claims: dict | None = None, **top) -> str:
    """A user JWT for `user` signed by `signer` (its account or a signing key); `claims` go into
    `nats`, `top` beside it (exp, nbf, iat)."""
    nats = {"type": "user", "pub": {}, "sub": {}, **UNLIMITED_USER, **(claims or {})}
    return encode_jwt({"sub": user.public, "name": name, "nats": nats, **top}, signer.seed)


def write_creds(path: Path, token: str, user: Key) -> Path:
    path.write_text(format_creds(token, user.seed.decode()))
    return path
