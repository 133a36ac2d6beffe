"""A user JWT minted for operator mode: a fresh user nkey, its claims (permissions, expiry) signed by an
account's seed or one of its signing keys, and the `.creds` text nats-py's `user_credentials` reads."""

from __future__ import annotations

import os
import re
import time

from edgenats.auth.jwt_codec import encode_jwt, format_creds

_ACCOUNT_SEED = re.compile(r"\bSA[A-Z2-7]{56}\b")


def read_account_seed(text: str) -> bytes:
    """The account seed (`SA...`) a seed file holds (alone, or as `nsc` writes key files)."""
    found = _ACCOUNT_SEED.search(text)
    if found is None:
        raise ValueError("no account seed (SA...) in the seed file")
    return found.group().encode()


def mint_user(name: str, account_seed: bytes, *, issuer_account: str | None = None,
              publish: list[str] | None = None, subscribe: list[str] | None = None,
              expires_in: float | None = None) -> str:
    """The `.creds` text of a new user. `issuer_account` names the account when the seed is one of its
    signing keys; without it the seed is the account's own key."""
    import nkeys

    user = nkeys.from_seed(bytearray(nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)))
    nats: dict = {"type": "user", "subs": -1, "data": -1, "payload": -1}
    if publish:
        nats["pub"] = {"allow": publish}
    if subscribe:
        nats["sub"] = {"allow": subscribe}
    if issuer_account:
        nats["issuer_account"] = issuer_account
    now = int(time.time())
    claims: dict = {"sub": user.public_key.decode(), "name": name, "iat": now, "nats": nats}
    if expires_in is not None:
        claims["exp"] = now + int(expires_in)
    return format_creds(encode_jwt(claims, account_seed), user.seed.decode())
