"""Operator mode's logins: a CONNECT with a user JWT (`jwt`) and the nonce signed by the user's key
(`sig`), checked as nats-server checks it, into the user it logs in as.

The user JWT must be issued by its account's key or one of the account JWT's signing keys (then
`issuer_account` names the account); the account JWT, fetched from the resolver, by a trusted
operator; neither expired nor, for the user, revoked by the account (`revocations`: issued at or
before the time given for its key or `*`), outside its `nbf`, its `times` windows (in its
`times_location`), its `src` networks or its `allowed_connection_types`. A `bearer_token` user needs
no signature (unless the account's limits set `disallow_bearer`). The user's `pub`/`sub`/`resp`
become its Permissions (the account's `default_permissions` when it has none), `subs`/`payload` its
limits, and the earliest of its expiry and the end of its time window the moment its session ends
(`User Authentication Expired`), unless the account JWT expires
first (`Account Authentication Expired`).

A user signed by a scoped signing key (`{kind: user_scope, key, template}` in the account's
`signing_keys`) must carry no permissions or limits of its own: the scope's template gives them,
with `{{name()}}`, `{{subject()}}`, `{{account-name()}}`, `{{account-subject()}}`, `{{tag(x)}}` and
`{{account-tag(x)}}` tokens filled in as nats-server fills them (`template.py`).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .account_resolver import AccountResolver
from .identity import AuthenticatedUser, JwtIdentity
from .jwt_codec import JwtError, decode_jwt
from .nkey_keys import signature_valid
from .operator import TrustedOperators
from .permissions import DEFAULT_RESPONSE_EXPIRES, DEFAULT_RESPONSE_MAX_MSGS, Permissions, ResponsePermission
from .template import TemplateError, apply_template

NO_LIMIT = -1
_NANOSECONDS = 1e9
USER_SCOPE = "user_scope"
# The user claims a scoped signing key's template replaces (and that such a user must leave empty).
_PERMISSION_LIMIT_FIELDS = ("pub", "sub", "resp", "src", "times", "times_location", "subs", "data", "payload",
                            "bearer_token", "allowed_connection_types")


def _strings(value: object) -> list[str]:
    """A JWT string list (a comma-separated string in older tokens)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [entry for entry in value if isinstance(entry, str)]
    return []


def _allow_deny(value: object) -> tuple[list[str] | None, list[str]]:
    if not isinstance(value, dict):
        return None, []
    return _strings(value.get("allow")) or None, _strings(value.get("deny"))


def user_permissions(nats: dict) -> Permissions | None:
    """The user claims' `pub`, `sub` and `resp` as Permissions (None: everything allowed)."""
    publish_allow, publish_deny = _allow_deny(nats.get("pub"))
    subscribe_allow, subscribe_deny = _allow_deny(nats.get("sub"))
    resp = nats.get("resp")
    responses = None
    if isinstance(resp, dict):
        max_msgs = resp.get("max") if isinstance(resp.get("max"), int) else 0
        ttl = resp.get("ttl") if isinstance(resp.get("ttl"), int) else 0
        responses = ResponsePermission(max_msgs or DEFAULT_RESPONSE_MAX_MSGS,
                                       ttl / _NANOSECONDS if ttl else DEFAULT_RESPONSE_EXPIRES)
        if publish_allow is None:
            # Answering requests is all such a user may publish unless its list says more.
            publish_allow = []
    if publish_allow is None and not publish_deny and subscribe_allow is None and not subscribe_deny \
            and responses is None:
        return None
    return Permissions(publish_allow=publish_allow, publish_deny=publish_deny, subscribe_allow=subscribe_allow,
                       subscribe_deny=subscribe_deny, allow_responses=responses)


def _limit(nats: dict, key: str) -> int:
    """A user limit; absent is 0 (nothing allowed), as nats-server reads a JWT without it."""
    value = nats.get(key, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _source_allowed(nats: dict, host: str) -> bool:
    networks = _strings(nats.get("src"))
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    for network in networks:
        # As Go's ParseCIDR: a network needs its mask; one that does not parse refuses the login.
        try:
            if "/" not in network:
                return False
            if address in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            return False
    return False


def _window_end(nats: dict, now: float) -> float | None:
    """With `times`: when the window `now` is in ends (None without windows); raises ValueError when
    `now` is in none of them, or the location or a time is invalid."""
    windows = nats.get("times")
    if not windows:
        return None
    location = nats.get("times_location") or ""
    try:
        zone = ZoneInfo(location) if location else None
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"invalid times_location {location!r}") from None
    moment = datetime.fromtimestamp(now, zone).astimezone(zone)
    for window in windows if isinstance(windows, list) else ():
        if not isinstance(window, dict):
            raise ValueError("a time window is not a map")
        start_time = datetime.strptime(str(window.get("start", "")), "%H:%M:%S").time()
        end_time = datetime.strptime(str(window.get("end", "")), "%H:%M:%S").time()
        start = moment.replace(hour=start_time.hour, minute=start_time.minute, second=start_time.second,
                               microsecond=0)
        end = moment.replace(hour=end_time.hour, minute=end_time.minute, second=end_time.second, microsecond=0)
        if start > end:
            # A window over midnight ends the next day.
            end += timedelta(days=1)
        if start <= moment < end:
            return end.timestamp()
    raise ValueError("outside the user's time windows")


class JwtLogin:
    """Checks user JWT logins against the trusted operators and the accounts a resolver serves."""

    def __init__(self, operators: TrustedOperators, resolver: AccountResolver,
                 clock: Callable[[], float] = time.time) -> None:
        self.operators = operators
        self.resolver = resolver
        self._clock = clock

    def account_claims(self, account_key: str) -> dict | None:
        """The claims of an account a trusted operator issued and that has not expired, or None."""
        token = self.resolver.fetch(account_key)
        if token is None:
            return None
        try:
            claims = decode_jwt(token, "account")
        except JwtError:
            return None
        if claims.get("sub") != account_key or not self.operators.trusts(claims["iss"]):
            return None
        if _expired(claims, self._clock()):
            return None
        return claims

    def revoked(self, connect: dict) -> bool:
        """Whether the CONNECT's user JWT is revoked by its account's `revocations`."""
        try:
            claims = decode_jwt(connect.get("jwt"), "user")
        except JwtError:
            return False
        account_key = claims["nats"].get("issuer_account") or claims["iss"]
        account = self.account_claims(account_key) if isinstance(account_key, str) else None
        return account is not None and _revoked(account, str(claims.get("sub")), claims)

    def authenticate(self, connect: dict, nonce: str, host: str, connection_type: str) -> AuthenticatedUser | None:
        """The user a CONNECT's `jwt` and `sig` log in as, or None for an Authorization Violation."""
        token = connect.get("jwt")
        if not isinstance(token, str) or not token:
            return None
        try:
            claims = decode_jwt(token, "user")
        except JwtError:
            return None
        now = self._clock()
        nats = claims["nats"]
        issuer = claims["iss"]
        account_key = nats.get("issuer_account") or issuer
        user_key = claims.get("sub")
        if _expired(claims, now) or _not_yet_valid(claims, now) or not isinstance(user_key, str):
            return None
        account = self.account_claims(account_key) if isinstance(account_key, str) else None
        if account is None or _revoked(account, user_key, claims):
            return None
        signer = _signing_key(account, issuer, self.operators.strict(account["iss"]))
        if signer is None:
            return None
        if isinstance(signer, dict):
            nats = _scoped(nats, signer, claims, account)
            if nats is None:
                return None
        limits = account["nats"].get("limits")
        if nats.get("bearer_token") and isinstance(limits, dict) and limits.get("disallow_bearer"):
            return None
        if not nats.get("bearer_token"):
            sig = connect.get("sig")
            if not nonce or not isinstance(sig, str) or not signature_valid(user_key, nonce, sig):
                return None
        allowed_types = [kind.upper() for kind in _strings(nats.get("allowed_connection_types"))]
        if allowed_types and connection_type not in allowed_types:
            return None
        if not _source_allowed(nats, host):
            return None
        try:
            window_end = _window_end(nats, now)
        except ValueError:
            return None
        ends = [moment for moment in (claims.get("exp"), window_end) if moment]
        identity = JwtIdentity(token, issuer, str(account.get("name", "")), account, min(ends) if ends else None,
                               account.get("exp") or None, _limit(nats, "subs"), _limit(nats, "payload"))
        permissions = user_permissions(nats)
        if permissions is None:
            defaults = account["nats"].get("default_permissions")
            permissions = user_permissions(defaults) if isinstance(defaults, dict) else None
        return AuthenticatedUser(user_key, account_key, permissions, identity)


def _expired(claims: dict, now: float) -> bool:
    expires = claims.get("exp")
    return isinstance(expires, int | float) and 0 < expires < int(now)


def _not_yet_valid(claims: dict, now: float) -> bool:
    starts = claims.get("nbf")
    return isinstance(starts, int | float) and starts > now


def _signing_key(account: dict, issuer: str, strict: bool) -> str | dict | None:
    """How the account knows the user JWT's issuer: its own key (unless its operator is `strict`) or a
    plain signing key (the key), a scoped signing key (its entry), or not at all (None)."""
    if issuer == account.get("sub"):
        return None if strict else issuer
    for entry in account["nats"].get("signing_keys") or ():
        if entry == issuer:
            return issuer
        if isinstance(entry, dict) and entry.get("key") == issuer:
            return entry
    return None


def _scoped(nats: dict, scope: dict, claims: dict, account: dict) -> dict | None:
    """A scoped user's claims with the scope's template's permissions and limits, or None when the
    user sets its own, the scope is not a user scope, or the template makes an invalid subject."""
    if scope.get("kind") != USER_SCOPE or any(nats.get(field) for field in _PERMISSION_LIMIT_FIELDS
                                               if field not in ("pub", "sub")):
        return None
    if any(_strings(permission.get(key)) for permission in (nats.get("pub"), nats.get("sub"))
           if isinstance(permission, dict) for key in ("allow", "deny")):
        return None
    template = scope.get("template") if isinstance(scope.get("template"), dict) else {}
    values = {"name": str(claims.get("name", "")), "subject": str(claims.get("sub", "")),
              "account-name": str(account.get("name", "")), "account-subject": str(nats.get("issuer_account", "")),
              "tags": _strings(nats.get("tags")), "account-tags": _strings(account["nats"].get("tags"))}
    scoped = {key: value for key, value in nats.items() if key not in _PERMISSION_LIMIT_FIELDS}
    scoped.update({field: template[field] for field in _PERMISSION_LIMIT_FIELDS if field in template})
    try:
        for kind in ("pub", "sub"):
            permission = template.get(kind)
            if isinstance(permission, dict):
                scoped[kind] = apply_template(_strings(permission.get("allow")), _strings(permission.get("deny")),
                                              values)
    except TemplateError:
        return None
    return scoped


def _revoked(account: dict, user_key: str, claims: dict) -> bool:
    revocations = account["nats"].get("revocations")
    if not isinstance(revocations, dict):
        return False
    issued = claims.get("iat", 0)
    return any(isinstance(revocations.get(key), int) and issued <= revocations[key] for key in (user_key, "*"))
