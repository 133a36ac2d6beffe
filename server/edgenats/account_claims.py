"""Operator mode's accounts: an account JWT's claims made into the `AccountSettings` the account config
machinery already has (account_config.py: exports, imports, limits, JetStream), so that an account
from a JWT is run by the same code as one from the `accounts` block.

`account_from_claims(claims)` is the one translation; the server calls it when a login brings an
account JWT (`Server.load_jwt_account`) and keeps the result in `Server.account_settings` under the
account's public key, which is also the account's name.
"""

from __future__ import annotations

from edgenats.account_config import AccountSettings


def account_from_claims(claims: dict) -> AccountSettings:
    """The settings of the account an account JWT's claims (already checked: trusted issuer, not
    expired) describe. Named by its public key (`sub`)."""
    return AccountSettings(name=claims["sub"])
