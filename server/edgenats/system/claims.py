"""The account JWT requests an operator-mode resolver answers in the system account, as nats-server's
does. A directory resolver answers what `nsc push` and `nsc delete` send to a server:

- `$SYS.REQ.CLAIMS.UPDATE` (and `$SYS.REQ.ACCOUNT.<key>.CLAIMS.UPDATE`, `$SYS.ACCOUNT.<key>.CLAIMS.UPDATE`,
  whose key must be the JWT's subject): an account JWT, stored and applied to the live account;
- `$SYS.REQ.ACCOUNT.<key>.CLAIMS.LOOKUP`: the stored JWT (an empty message when there is none);
- `$SYS.REQ.CLAIMS.LIST`: the keys of the stored accounts;
- `$SYS.REQ.CLAIMS.DELETE`: a generic JWT signed by the operator (or one of its signing keys) with the
  accounts to delete, only with `allow_delete`.

A MEMORY resolver answers only the per-account updates, for accounts in use (MemoryClaimsUpdates).
Answers are nats-server's: `{"server": ..., "data": {"account", "code": 200, "message"}}` or
`{"server": ..., "error": {"account", "code": 500, "description": "<what> - <why>"}}`. As in nats-server,
a directory resolver stores an update when it is a well-formed account JWT whatever its signer or
issue time: whether it is trusted is decided when the account is used (`changed` is told, and an
untrusted JWT is logged and not applied).
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from edgenats.account_claims import AccountClaimsError, account_from_claims
from edgenats.auth.account_resolver import MemoryResolver
from edgenats.auth.dir_resolver import DirectoryResolver, ResolverError, is_account_key
from edgenats.auth.jwt_codec import JwtError, decode_jwt
from edgenats.auth.nkey_keys import PREFIX_ACCOUNT, PREFIX_OPERATOR, PREFIX_USER, public_key_bytes, signed_by

if TYPE_CHECKING:
    from edgenats.system.responders import SystemAccount

log = logging.getLogger("edgenats")

UPDATE_SUBJECT = "$SYS.REQ.CLAIMS.UPDATE"
ACCOUNT_UPDATE_SUBJECTS = ("$SYS.REQ.ACCOUNT.*.CLAIMS.UPDATE", "$SYS.ACCOUNT.*.CLAIMS.UPDATE")
LOOKUP_SUBJECT = "$SYS.REQ.ACCOUNT.*.CLAIMS.LOOKUP"
LIST_SUBJECT = "$SYS.REQ.CLAIMS.LIST"
DELETE_SUBJECT = "$SYS.REQ.CLAIMS.DELETE"
_NO_ACCOUNT = "n/a"
# Whoever signs a generic JWT: its signature is checked, whether it may delete is checked after.
_ISSUER_KINDS = (PREFIX_OPERATOR, PREFIX_ACCOUNT, PREFIX_USER)


class ClaimsError(Exception):
    """An update or delete refused; the text is nats-server's reason."""


def check_account_claims(token: str) -> dict:
    """The claims of an account JWT sent for storing (its signature by its issuer checked, not whether
    that issuer is trusted); raises ClaimsError with the jwt library's text."""
    try:
        return decode_jwt(token, "account")
    except JwtError as error:
        raise ClaimsError(str(error)) from None


def _generic_claims(token: str) -> dict:
    """The claims of any JWT signed by its issuer (an operator key, for a delete that is allowed)."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise ClaimsError("expected 3 chunks")
    try:
        claims = json.loads(_b64(parts[1]))
        signature = _b64(parts[2])
    except (ValueError, UnicodeDecodeError):
        raise ClaimsError("invalid JWT") from None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    key = next(filter(None, (public_key_bytes(issuer, kind) for kind in _ISSUER_KINDS)), None)
    if key is None or not signed_by(key, f"{parts[0]}.{parts[1]}".encode(), signature):
        raise ClaimsError("claim failed V2 signature verification")
    return claims


def _accounts_to_delete(claims: dict, signers: frozenset[str], system_account: str) -> list[str]:
    """The accounts a delete request names, in nats-server's order of checks: signed by itself, a
    trusted operator key, `nats.accounts` a list of account keys, the system account not among them."""
    if claims.get("sub") != claims.get("iss"):
        raise ClaimsError("not self signed")
    if claims.get("iss") not in signers:
        raise ClaimsError("not trusted")
    data = claims.get("nats")
    accounts = data.get("accounts") if isinstance(data, dict) else None
    if not isinstance(accounts, list):
        raise ClaimsError("malformed request")
    for entry in accounts:
        if not is_account_key(entry):
            raise ClaimsError("malformed request")
        if entry == system_account:
            raise ClaimsError("not allowed to delete system account")
    return accounts


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class ClaimsResponders:
    """Subscribes the claims subjects in the system account and answers them from `resolver`.

    `operator_key`, `signing_keys`: the operator's; with `strict` (its `strict_signing_key_usage`) an
    account JWT it signed itself is refused and only a signing key may sign a delete request;
    `system_account`: its key (never deleted); `changed(key)` / `deleted(key)`: called after the store
    changed, to apply the account's new claims or lock it out."""

    def __init__(self, system: SystemAccount, resolver: DirectoryResolver, *, operator_key: str,
                 signing_keys: frozenset[str], strict: bool, system_account: str,
                 changed: Callable[[str], None], deleted: Callable[[str], None]) -> None:
        self._system = system
        self._resolver = resolver
        self._operator_key = operator_key
        self._signers = signing_keys if strict else signing_keys | {operator_key}
        self._strict = strict
        self._system_account = system_account
        self._changed = changed
        self._deleted = deleted

    def subscribe(self) -> list:
        account = self._system.account
        subscriptions = [account.subscribe_internal(UPDATE_SUBJECT, self._update)]
        subscriptions += [account.subscribe_internal(subject, self._account_update)
                          for subject in ACCOUNT_UPDATE_SUBJECTS]
        subscriptions.append(account.subscribe_internal(LOOKUP_SUBJECT, self._lookup))
        subscriptions.append(account.subscribe_internal(LIST_SUBJECT, self._list))
        subscriptions.append(account.subscribe_internal(DELETE_SUBJECT, self._delete))
        return subscriptions

    # answers -----------------------------------------------------------------------------------

    def _respond(self, reply: str | None, account: str, message: str, error: str | None = None) -> None:
        respond(self._system, reply, account, message, error)

    def _store(self, reply: str | None, account_key: str, token: str) -> None:
        try:
            changed = self._resolver.save(account_key, token)
        except ResolverError as error:
            self._respond(reply, account_key, "jwt update resulted in error", str(error))
            return
        self._respond(reply, account_key, "jwt updated")
        if changed:
            self._changed(account_key)

    def _decoded(self, reply: str | None, payload: bytes) -> tuple[str, dict] | None:
        """A pushed account JWT and its claims, or None once a malformed one was answered."""
        token = payload.decode("utf-8", "replace")
        try:
            return token, check_account_claims(token)
        except ClaimsError as error:
            self._respond(reply, _NO_ACCOUNT, "jwt update resulted in error", str(error))
            return None

    def _update(self, subject: str, reply: str | None, headers: bytes | None, payload: bytes) -> None:
        decoded = self._decoded(reply, payload)
        if decoded is None:
            return
        token, claims = decoded
        key = claims.get("sub", "")
        if self._strict and claims.get("iss") == self._operator_key:
            self._respond(reply, key, "jwt update resulted in error", "operator requires issuer to be a signing key")
            return
        problem = self._validation(claims)
        if problem:
            self._respond(reply, key, "jwt validation failed", problem)
            return
        self._store(reply, key, token)

    def _account_update(self, subject: str, reply: str | None, headers: bytes | None, payload: bytes) -> None:
        account_key = subject.split(".")[-3]
        decoded = self._decoded(reply, payload)
        if decoded is None:
            return
        token, claims = decoded
        problem = self._validation(claims)
        if problem:
            self._respond(reply, claims.get("sub", ""), "jwt validation failed", problem)
        elif claims.get("sub") != account_key:
            self._respond(reply, account_key, "jwt update resulted in error", "subject does not match jwt content")
        elif self._strict and claims.get("iss") == self._operator_key:
            self._respond(reply, account_key, "jwt update resulted in error",
                          "operator requires issuer to be a signing key")
        else:
            self._store(reply, account_key, token)

    def _validation(self, claims: dict) -> str:
        """nats-server's blocking validation errors of an account JWT ("" when none)."""
        try:
            account_from_claims(claims)
        except AccountClaimsError as error:
            return f"validation errors: [{error}]"
        return ""

    def _lookup(self, subject: str, reply: str | None, headers: bytes | None, payload: bytes) -> None:
        if not reply:
            return
        account_key = subject.split(".")[3]
        if not is_account_key(account_key):
            log.error('DirResolver - Error looking up account "%s": invalid public key', account_key)
            return
        token = self._resolver.fetch(account_key)
        self._system.account.publish_internal(reply, token.encode() if token else b"", once=True)

    def _list(self, subject: str, reply: str | None, headers: bytes | None, payload: bytes) -> None:
        if reply:
            self._system.publish(reply, {"data": self._resolver.keys(), "server": self._system.server_block()})

    def _delete(self, subject: str, reply: str | None, headers: bytes | None, payload: bytes) -> None:
        requester = ""
        try:
            claims = _generic_claims(payload.decode("utf-8", "replace"))
            requester = claims.get("sub", "")
            if not self._resolver.deletes:
                raise ClaimsError("delete must be enabled in server config")
            accounts = _accounts_to_delete(claims, self._signers, self._system_account)
        except ClaimsError as error:
            self._respond(reply, "", f"delete accounts request by {requester} failed", str(error))
            return
        for account_key in accounts:
            if self._resolver.delete(account_key):
                self._deleted(account_key)
        self._respond(reply, "", f"deleted {len(accounts)} accounts")


def _without_empty(body: dict) -> dict:
    """Go's `omitempty`: an empty account name is left out."""
    return {key: value for key, value in body.items() if value != ""}


def respond(system: SystemAccount, reply: str | None, account: str, message: str, error: str | None = None) -> None:
    """Log as nats-server's respondToUpdate and answer (when asked) with its JSON."""
    if error is None:
        log.debug("%s - %s", message, account) if account else log.debug("%s", message)
    elif account:
        log.error("%s - %s - %s", message, account, error)
    else:
        log.error("%s - %s", message, error)
    if not reply:
        return
    if error is None:
        body = {"account": account, "code": 200, "message": message}
        document = {"server": system.server_block(), "data": _without_empty(body)}
    else:
        body = {"account": account, "code": 500, "description": f"{message} - {error}"}
        document = {"server": system.server_block(), "error": _without_empty(body)}
    system.publish(reply, document)


class MemoryClaimsUpdates:
    """With `resolver: MEMORY`, nats-server's account claims updates (`$SYS.REQ.ACCOUNT.<key>.CLAIMS.UPDATE`
    and the old `$SYS.ACCOUNT.<key>.CLAIMS.UPDATE`): the JWT of an account in use is replaced, if a
    trusted operator key signed it and it is valid, and applied (`changed`); one nobody uses is
    skipped."""

    def __init__(self, system: SystemAccount, resolver: MemoryResolver, *, trusts: Callable[[str], bool],
                 loaded: Callable[[str], bool], changed: Callable[[str], None]) -> None:
        self._system = system
        self._resolver = resolver
        self._trusts = trusts
        self._loaded = loaded
        self._changed = changed

    def subscribe(self) -> list:
        return [self._system.account.subscribe_internal(subject, self._update) for subject in ACCOUNT_UPDATE_SUBJECTS]

    def _update(self, subject: str, reply: str | None, headers: bytes | None, payload: bytes) -> None:
        key = subject.split(".")[-3]
        system = self._system
        if not payload:
            respond(system, reply, key, "jwt update error", "request body is empty")
            return
        token = payload.decode("utf-8", "replace")
        try:
            claims = check_account_claims(token)
        except ClaimsError as error:
            respond(system, reply, key, "jwt update resulted in error", str(error))
            return
        if claims.get("sub") != key:
            respond(system, reply, key, "jwt update resulted in error", "subject does not match jwt content")
        elif not self._loaded(key):
            respond(system, reply, key, "jwt update skipped")
        elif not self._valid(claims):
            respond(system, reply, key, "jwt update resulted in error", "account validation failed")
        else:
            self._resolver.replace(key, token)
            self._changed(key)
            respond(system, reply, key, "jwt updated")

    def _valid(self, claims: dict) -> bool:
        """nats-server's verifyAccountClaims: a trusted issuer, not expired, claims that apply."""
        expires = claims.get("exp")
        if not self._trusts(claims.get("iss", "")) or (isinstance(expires, int) and 0 < expires <= time.time()):
            return False
        try:
            account_from_claims(claims)
        except AccountClaimsError:
            return False
        return True


def claims_responders(system: SystemAccount) -> ClaimsResponders | MemoryClaimsUpdates | None:
    """The claims requests the server's resolver answers (None outside operator mode): a directory
    resolver's, the first trusted operator's keys signing what may be stored and deleted, as in
    nats-server; a MEMORY resolver's updates of accounts in use."""
    server = system.server
    resolver = server.account_resolver
    if isinstance(resolver, MemoryResolver):
        return MemoryClaimsUpdates(system, resolver, trusts=server.options.operators.trusts,
                                   loaded=server.jwt_accounts.loaded, changed=server.jwt_accounts.changed)
    if not isinstance(resolver, DirectoryResolver):
        return None
    operator = server.options.operators.operators[0]
    return ClaimsResponders(system, resolver, operator_key=operator.key, signing_keys=frozenset(operator.signing_keys),
                            strict=operator.strict, system_account=server.options.system_account,
                            changed=server.jwt_accounts.changed, deleted=server.jwt_accounts.deleted)
