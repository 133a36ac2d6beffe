"""Operator mode's accounts: an account JWT's claims made into the `AccountSettings` the account config
machinery already has (account_config.py: exports, imports, limits, JetStream), named by the
account's public key, so that an account from a JWT is run by the same code as one from the
`accounts` block. `account_from_claims(claims)` is the one translation.

It follows nats-server (`updateAccountClaimsWithRefresh`): limits are taken as written (an omitted
limit is 0, not unlimited; -1 is no limit); a stream import's `local_subject` maps the exporter's
subject into the importer (its deprecated `to` is a prefix), a service import's `local_subject` is
the subject importers send to; JetStream is on when memory or disk storage is not 0 (the `R1` tier
when the limits are tiered: one server keeps one replica). The operator limits on the claims
themselves (`imports`, `exports`, `wildcards`) and claims edgenats cannot carry out are refused
with AccountClaimsError: a refused JWT is never half applied. An export with `token_req` is open to no
account by name: an import of it carries its activation token (checked here as the jwt library
validates an import: signed by the exporter, for this account, this kind and a subject containing
the import's; whether it is still valid, jwt_accounts.py decides when the import runs). The `leaf`
limit has nothing to bound (leaf nodes do not log in with user JWTs here) and `data` is not
enforced (nor by nats-server).
"""

from __future__ import annotations

from edgenats.account_config import SERVICE, SINGLETON, STREAM, AccountLimits, AccountSettings, Export, Import
from edgenats.auth.jwt_codec import JwtError, decode_jwt
from edgenats.auth.nkey_keys import PREFIX_ACCOUNT, public_key_bytes
from edgenats.jetstream.limits import UNLIMITED, JetStreamLimits
from edgenats.protocol.framing import go_quote
from edgenats.subjects import is_valid_subject, subject_is_subset

_RESPONSE_TYPES = {"": SINGLETON, "Singleton": SINGLETON, "Stream": "stream", "Chunked": "chunked"}
_NS_PER_S = 1_000_000_000
# Claims that change what an account does and that edgenats does not carry out.
_UNSUPPORTED = {
    "mappings": "subject mappings",
    "authorization": "external authorization (auth callout)",
    "trace": "message tracing",
}
_SINGLE_REPLICA_TIER = "R1"


class AccountClaimsError(ValueError):
    """An account JWT whose claims cannot be applied; the text says why."""


def _number(value: object, name: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise AccountClaimsError(f"limit {name} is not a number: {value!r}")
    return value


def _subject(value: object, where: str) -> str:
    if not isinstance(value, str) or not is_valid_subject(value):
        raise AccountClaimsError(f"{where} subject {value!r} is not valid")
    return value


def _export(entry: dict) -> Export:
    kind = entry.get("type")
    if kind not in (STREAM, SERVICE):
        raise AccountClaimsError(f"export type {kind!r} is not stream or service")
    subject = _subject(entry.get("subject"), "export")
    if entry.get("account_token_position"):
        raise AccountClaimsError("exports with an account token position are not supported by edgenats")
    if entry.get("service_latency"):
        raise AccountClaimsError("service latency tracking is not supported by edgenats")
    # An export that requires an activation token is open to no account: tokens are not checked.
    accounts = () if entry.get("token_req") else None
    if kind == STREAM:
        return Export(STREAM, subject, accounts)
    response = _RESPONSE_TYPES.get(entry.get("response_type") or "")
    if response is None:
        raise AccountClaimsError(f"invalid response type {entry.get('response_type')!r}")
    threshold_ns = _number(entry.get("response_threshold"), "response_threshold")
    if threshold_ns:
        return Export(SERVICE, subject, accounts, response, threshold_ns / _NS_PER_S)
    return Export(SERVICE, subject, accounts, response)


def _activation(token: object, account: str, kind: str, subject: str, importer: str) -> str:
    """An import's activation token, checked as the jwt library's Import.Validate checks it."""
    if not isinstance(token, str):
        raise AccountClaimsError(f"import {go_quote(subject)} contains an invalid activation token")
    try:
        claims = decode_jwt(token, "activation")
    except JwtError:
        raise AccountClaimsError(f"import {go_quote(subject)} contains an invalid activation token") from None
    nats = claims["nats"]
    if account not in (claims.get("iss"), nats.get("issuer_account")):
        raise AccountClaimsError(f"activation token doesn't match account for import {go_quote(subject)}")
    if claims.get("sub") != importer:
        raise AccountClaimsError(f"activation token doesn't match account it is being included in, {go_quote(subject)}")
    if nats.get("kind") != kind:
        raise AccountClaimsError(f"mismatch between token import type {nats.get('kind')} and type of import {kind}")
    granted = nats.get("subject")
    if not isinstance(granted, str) or not is_valid_subject(granted) or not subject_is_subset(subject, granted):
        raise AccountClaimsError(f"activation token import subject {go_quote(str(granted))} doesn't match import "
                            f"{go_quote(subject)}")
    return token


def _import(entry: dict, importer: str) -> Import:
    kind = entry.get("type")
    if kind not in (STREAM, SERVICE):
        raise AccountClaimsError(f"import type {kind!r} is not stream or service")
    account = entry.get("account")
    if public_key_bytes(account, PREFIX_ACCOUNT) is None:
        raise AccountClaimsError(f"import account {account!r} is not an account public key")
    subject = _subject(entry.get("subject"), "import")
    local = entry.get("local_subject") or ""
    to = entry.get("to") or ""
    remote = subject
    if kind == STREAM:
        local = _subject(local or (f"{to}.{subject}" if to else subject), "import local")
    elif local:
        local = _subject(local, "import local")
    else:
        # The deprecated `to` of a service import names the exporter's subject.
        remote, local = (_subject(to, "import to") if to else subject), subject
    token = entry.get("token")
    activation = _activation(token, account, kind, remote, importer) if token else ""
    return Import(kind, account, remote, local, activation)


def _jetstream(limits: dict) -> JetStreamLimits | None:
    tiers = limits.get("tiered_limits")
    if tiers:
        # One server keeps one replica: the R1 tier is the one its streams fall under.
        js = tiers.get(_SINGLE_REPLICA_TIER) if isinstance(tiers, dict) else None
        if not isinstance(js, dict):
            return None
    else:
        js = limits
    memory = _number(js.get("mem_storage"), "mem_storage")
    disk = _number(js.get("disk_storage"), "disk_storage")
    if memory == 0 and disk == 0:
        return None

    def unlimited_unless_positive(name: str) -> int:
        value = _number(js.get(name), name)
        return value if value > 0 else UNLIMITED

    return JetStreamLimits(
        max_memory=memory, max_storage=disk,
        max_streams=_number(js.get("streams"), "streams"), max_consumers=_number(js.get("consumer"), "consumer"),
        max_ack_pending=unlimited_unless_positive("max_ack_pending"),
        memory_max_stream_bytes=unlimited_unless_positive("mem_max_stream_bytes"),
        storage_max_stream_bytes=unlimited_unless_positive("disk_max_stream_bytes"),
        max_bytes_required=js.get("max_bytes_required") is True,
    )


def _check_operator_limits(limits: dict, exports: list[Export], imports: list[Import]) -> None:
    """The jwt library's blocking validation of the claims against their own limits."""
    max_imports = _number(limits.get("imports"), "imports")
    if max_imports >= 0 and len(imports) > max_imports:
        raise AccountClaimsError("the account contains more imports than allowed by the operator")
    max_exports = _number(limits.get("exports"), "exports")
    if max_exports >= 0 and len(exports) > max_exports:
        raise AccountClaimsError("the account contains more exports than allowed by the operator")
    if not limits.get("wildcards") and any("*" in e.subject.split(".") or ">" in e.subject.split(".")
                                           for e in exports):
        raise AccountClaimsError("the account contains wildcard exports that are not allowed by the operator")


def account_from_claims(claims: dict) -> AccountSettings:
    """The settings of the account an account JWT's claims (decoded, signature checked) describe, named
    by its public key (`sub`); raises AccountClaimsError for claims edgenats cannot apply."""
    nats = claims.get("nats") or {}
    for key, what in _UNSUPPORTED.items():
        if nats.get(key):
            raise AccountClaimsError(f"{what} in account JWTs is not supported by edgenats")
    limits = nats.get("limits") or {}
    if not isinstance(limits, dict):
        raise AccountClaimsError("limits is not an object")
    exports = [_export(entry) for entry in nats.get("exports") or () if isinstance(entry, dict)]
    imports = [_import(entry, claims.get("sub", "")) for entry in nats.get("imports") or () if isinstance(entry, dict)]
    _check_operator_limits(limits, exports, imports)
    account_limits = AccountLimits(
        max_connections=_number(limits.get("conn"), "conn"),
        max_subscriptions=_number(limits.get("subs"), "subs"),
        max_payload=_number(limits.get("payload"), "payload"),
    )
    return AccountSettings(claims.get("sub", ""), tuple(exports), tuple(imports), account_limits,
                           _jetstream(limits))
