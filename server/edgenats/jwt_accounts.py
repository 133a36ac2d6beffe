"""Operator mode's live accounts: an account JWT's settings (`account_from_claims`) made to run, when a
login first brings the account and whenever the resolver stores a new JWT for it, as nats-server's
`updateAccountClaimsWithRefresh` does.

Loading an account loads the accounts its imports name (fetched from the resolver, as nats-server
looks the exporter up), then re-runs every account's imports (an import runs only when its exporter
is loaded and has an export of its kind open to the importer, publicly or, with `token_req`, by the
import's activation token while it holds: an unauthorized import carries nothing, as nats-server's;
they run again when the first activation token in use expires), sets the account's JetStream on,
off or to its new limits, and applies the account's limits to its connected clients: past a lower
connection limit the newest connections are closed with `maximum account active connections
exceeded`, each client takes the new payload and subscription limits, a user whose JWT the new
claims revoke is closed with `User Authentication Revoked`, and one whose JWT was signed by a
signing key the account no longer lists is closed. A deleted account is locked out: its clients are
closed with `Account Authentication Expired`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from edgenats.account_claims import AccountClaimsError, account_from_claims
from edgenats.account_config import AccountSettings, Import
from edgenats.auth.jwt_codec import JwtError, decode_jwt
from edgenats.subjects import subject_is_subset

if TYPE_CHECKING:
    from edgenats.account import Account
    from edgenats.imports import Imports

log = logging.getLogger("edgenats")

CONNECTIONS_EXCEEDED = "maximum account active connections exceeded"
ACCOUNT_EXPIRED = "Account Authentication Expired"
REVOKED = "User Authentication Revoked"


class JwtAccounts:
    """The accounts loaded from JWTs: their settings live in `settings` (the server's account_settings)."""

    def __init__(self, settings: dict[str, AccountSettings], account: Callable[[str], Account], imports: Imports,
                 claims: Callable[[str], dict | None], jetstream: Callable[[], object],
                 loop: asyncio.AbstractEventLoop) -> None:
        """`account(name)` makes or finds an account; `claims(key)` gives an account's checked claims
        (trusted issuer, not expired) from the resolver, or None; `jetstream()` the running JetStream
        service or None."""
        self._settings = settings
        self._account = account
        self._imports = imports
        self._claims = claims
        self._jetstream = jetstream
        self._loop = loop
        # The claims each loaded account runs with (signing keys and export revocations for activations).
        self._running: dict[str, dict] = {}
        # What the running imports were made from: each account's imports and exports (those with any).
        self._imports_basis: dict[str, tuple] = {}
        # Re-runs the imports when the first activation token in use expires.
        self._activation_timer: asyncio.TimerHandle | None = None

    def load(self, claims: dict) -> Account:
        """A login's account, loaded from its claims unless those are the ones running; raises
        AccountClaimsError when they cannot be applied (the login is refused)."""
        settings = account_from_claims(claims)
        if self._settings.get(settings.name) != settings:
            self._apply(settings, claims)
        return self._account(settings.name)

    def loaded(self, key: str) -> bool:
        """Whether a login brought the account (its claims are running)."""
        return key in self._settings

    def changed(self, key: str) -> None:
        """The resolver stored a new JWT for `key`: applied if the account is loaded and the JWT trusted."""
        if key not in self._settings:
            return
        claims = self._claims(key)
        settings = _settings(claims) if claims is not None else None
        if settings is None:
            log.error('DirResolver - Update for account "%s" resulted in error: not trusted, expired or not '
                      "applicable", key)
            return
        self._apply(settings, claims)

    def deleted(self, key: str) -> None:
        """The resolver deleted the account: its clients are closed and it is no longer loaded."""
        if self._settings.pop(key, None) is None:
            return
        self._running.pop(key, None)
        self.run_imports()
        jetstream = self._jetstream()
        if jetstream is not None:
            jetstream.configure_account(self._account(key), None)
        for connection in sorted(self._account(key).connections, key=lambda c: c.cid):
            log.error("%s - %s", connection.describe(), ACCOUNT_EXPIRED)
            connection.close("Authentication Expired", error_text=ACCOUNT_EXPIRED)

    def _apply(self, settings: AccountSettings, claims: dict) -> None:
        self._settings[settings.name] = settings
        self._running[settings.name] = claims
        for imported in settings.imports:
            if imported.account not in self._settings:
                exporter_claims = self._claims(imported.account)
                exporter = _settings(exporter_claims) if exporter_claims is not None else None
                if exporter is None:
                    log.error("Can't locate account [%s] for import of [%s] %s", imported.account, imported.subject,
                              imported.kind)
                else:
                    self._apply(exporter, exporter_claims)
        self.run_imports()
        account = self._account(settings.name)
        jetstream = self._jetstream()
        if jetstream is not None:
            jetstream.configure_account(account, settings.jetstream)
        self._apply_to_clients(account, settings, claims)

    def run_imports(self) -> None:
        """Every account's imports that may run now; again when an activation token in use expires.
        They are restarted only when what they run on changed (an account with imports or exports came,
        went or changed them), so that a login does not drop the replies of service requests in flight."""
        now = time.time()
        expiries: list[float] = []
        runnable = {}
        for name, settings in self._settings.items():
            imports = tuple(imported for imported in settings.imports
                            if self._authorized(name, imported, now, expiries))
            runnable[name] = dataclasses.replace(settings, imports=imports)
        basis = {name: (settings.imports, settings.exports) for name, settings in runnable.items()
                 if settings.imports or settings.exports}
        if basis != self._imports_basis:
            self._imports_basis = basis
            self._imports.apply(runnable)
        if self._activation_timer is not None:
            self._activation_timer.cancel()
            self._activation_timer = None
        if expiries:
            self._activation_timer = self._loop.call_later(max(0.0, min(expiries) - now), self.run_imports)

    def _authorized(self, importer: str, imported: Import, now: float, expiries: list[float]) -> bool:
        """Whether the exporter is loaded and one of its exports of that kind is open to the importer:
        public, or with `token_req` and the import's activation token still valid (its expiry then
        added to `expiries`)."""
        exporter = self._settings.get(imported.account)
        if exporter is None:
            return False
        for export in exporter.exports:
            if export.kind != imported.kind or not subject_is_subset(imported.subject, export.subject):
                continue
            if export.open_to(importer, imported.subject):
                return True
            if export.accounts == () and imported.activation:
                expires = _activation_expiry(imported, self._running[imported.account], export.subject, now)
                if expires is not None:
                    if expires:
                        expiries.append(expires)
                    return True
        return False

    def _apply_to_clients(self, account: Account, settings: AccountSettings, claims: dict) -> None:
        limit = settings.limits.max_connections
        kept = 0
        for connection in sorted(account.connections, key=lambda c: c.cid):
            if 0 <= limit <= kept:
                log.error("%s - %s", connection.describe(), CONNECTIONS_EXCEEDED)
                connection.close("Maximum Account Connections Exceeded", error_text=CONNECTIONS_EXCEEDED)
                continue
            kept += 1
            refusal = _user_refusal(connection, claims)
            if refusal == REVOKED:
                log.error("%s - %s", connection.describe(), REVOKED)
                connection.close("Credentials Revoked", error_text=REVOKED)
            elif refusal:
                log.error("%s - %s", connection.describe(), refusal)
                connection.close("Authentication Failure")
            else:
                connection.apply_account_limits()


def _settings(claims: dict) -> AccountSettings | None:
    try:
        return account_from_claims(claims)
    except AccountClaimsError as error:
        log.error('Account "%s" claims not applied: %s', claims.get("sub"), error)
        return None


def _user_refusal(connection, claims: dict) -> str:
    """Why a connected user JWT no longer holds under the account's new claims ("" when it does)."""
    user = connection.user
    if user is None or user.jwt is None:
        return ""
    try:
        user_claims = decode_jwt(user.jwt.token, "user")
    except JwtError as error:
        return f"User JWT not valid: {error}"
    nats = claims.get("nats") or {}
    revocations = nats.get("revocations")
    if isinstance(revocations, dict) and _revoked(revocations, user_claims.get("sub"), user_claims.get("iat", 0)):
        return REVOKED
    issuer = user_claims.get("iss")
    if issuer != claims.get("sub") and issuer not in _signing_keys(nats):
        return "user JWT signing key removed from the account"
    return ""


def _signing_keys(nats: dict) -> set[str]:
    """An account's signing keys: plain keys, or scoped ones (objects with a `key`)."""
    keys = set()
    for entry in nats.get("signing_keys") or ():
        if isinstance(entry, str):
            keys.add(entry)
        elif isinstance(entry, dict) and isinstance(entry.get("key"), str):
            keys.add(entry["key"])
    return keys


def _activation_expiry(imported: Import, exporter: dict, export_subject: str, now: float) -> float | None:
    """When the import's activation token expires (0: never), or None when it does not hold now: its
    issuer is the exporter, or one of the exporter's signing keys naming the exporter as
    `issuer_account`; not expired; not revoked by the export (`revocations`: issued at or before)."""
    try:
        token = decode_jwt(imported.activation, "activation")
    except JwtError:
        return None
    exporter_key = exporter.get("sub")
    issuer_account = token["nats"].get("issuer_account")
    if issuer_account and (issuer_account != exporter_key or token.get("iss") not in _signing_keys(exporter["nats"])):
        return None
    if not issuer_account and token.get("iss") != exporter_key:
        return None
    expires = token.get("exp") or 0
    if expires and expires <= now:
        return None
    for export in exporter["nats"].get("exports") or ():
        if isinstance(export, dict) and export.get("subject") == export_subject:
            revocations = export.get("revocations")
            if isinstance(revocations, dict) and _revoked(revocations, token.get("sub"), token.get("iat", 0)):
                return None
    return float(expires)


def _revoked(revocations: dict, key: object, issued: int) -> bool:
    """nats-server's rule: revoked when issued at or before the time given for the key or `*`."""
    for entry in (key, "*"):
        revoked_at = revocations.get(entry)
        if isinstance(revoked_at, int) and not isinstance(revoked_at, bool) and issued <= revoked_at:
            return True
    return False
