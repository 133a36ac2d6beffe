"""Who a logged-in connection is: `AuthenticatedUser` (name, account, permissions) and, for a user JWT
login in operator mode, the `JwtIdentity` the session and monitoring read (the token, its issuer, the
account's name and claims, when the session must end, the user's limits); and the connection types
a user JWT's `allowed_connection_types` names."""

from __future__ import annotations

from dataclasses import dataclass

from .permissions import Permissions

# nats-server's connection types, as user JWTs name them in `allowed_connection_types`.
STANDARD = "STANDARD"
WEBSOCKET = "WEBSOCKET"


@dataclass(frozen=True)
class JwtIdentity:
    """What a user JWT login adds to the user."""

    token: str
    # The key that signed the user JWT (the account's or a signing key), as /connz's `issuer_key`.
    issuer: str
    # The account JWT's name, as /connz's `name_tag`.
    name_tag: str
    account_claims: dict
    # Wall-clock time the session ends (the user's expiry or the end of its time window); None: never.
    expires_at: float | None
    # Wall-clock time the account JWT expires, which ends the session too; None: never.
    account_expires_at: float | None
    # The user's `subs` and `payload` limits (-1: none).
    max_subscriptions: int
    max_payload: int


@dataclass(frozen=True)
class AuthenticatedUser:
    """Who a connection is: user name ("" for token or no auth; the user's public key with a JWT),
    account, permissions (None = all), and what a user JWT adds."""

    name: str
    account: str
    permissions: Permissions | None
    jwt: JwtIdentity | None = None
