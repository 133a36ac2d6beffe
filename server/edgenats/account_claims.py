"""Operator mode's accounts: an account JWT's claims made into the `AccountSettings` the account config
machinery already has (account_config.py: exports, imports, limits, JetStream), so that an account
from a JWT is run by the same code as one from the `accounts` block.

`account_from_claims(claims)` is the one translation; the server calls it when a login brings an
account JWT (`Server.load_jwt_account`) and keeps the result in `Server.account_settings` under the
account's public key, which is also the account's name. Claims it does not translate yet are refused
(`AccountClaimsError`: the login fails) rather than ignored.
"""

from __future__ import annotations

from edgenats.account_config import NO_LIMIT, AccountSettings

# Account claims not applied yet, by the nats-server name of the field.
_UNAPPLIED_CLAIMS = ("imports", "exports", "mappings")
_UNAPPLIED_LIMITS = ("conn", "subs", "payload", "data", "leaf", "imports", "exports")


class AccountClaimsError(ValueError):
    """An account JWT with claims edgenats cannot apply yet; the message names them."""


def account_from_claims(claims: dict) -> AccountSettings:
    """The settings of the account an account JWT's claims (already checked: trusted issuer, not
    expired) describe, named by its public key (`sub`); raises AccountClaimsError."""
    nats = claims["nats"]
    for key in _UNAPPLIED_CLAIMS:
        if nats.get(key):
            raise AccountClaimsError(f"account JWT {key} are not supported by edgenats yet")
    limits = nats.get("limits") if isinstance(nats.get("limits"), dict) else {}
    for key in _UNAPPLIED_LIMITS:
        if limits.get(key, NO_LIMIT) != NO_LIMIT:
            raise AccountClaimsError(f"account JWT limit {key!r} is not supported by edgenats yet")
    authorization = nats.get("authorization")
    if isinstance(authorization, dict) and authorization.get("auth_users"):
        raise AccountClaimsError("account JWT authorization callouts are not supported by edgenats")
    return AccountSettings(name=claims["sub"])
