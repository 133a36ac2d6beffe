"""The `accounts { NAME { exports, imports, limits, jetstream } }` settings, as nats-server reads them.

Parsed into plain dataclasses and checked across accounts the way nats-server checks them at
start-up: every named account exists, an import matches an export of its kind that is open to the
importer, and no import forms a cycle. Raises ValueError naming the key (`accounts.B.imports[0]`).
Users and default permissions of an account are read by edgenats.auth.config.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgenats.auth.config import account_name, lower_keys
from edgenats.conf.units import positive_duration
from edgenats.jetstream.limits import JetStreamLimits, parse_account_jetstream
from edgenats.mapping import SubjectMapping
from edgenats.subjects import is_valid_subject, subject_is_subset, subjects_overlap

STREAM = "stream"
SERVICE = "service"
SINGLETON = "singleton"
DEFAULT_RESPONSE_THRESHOLD = 120.0
NO_LIMIT = -1

_RESPONSE_TYPES = {"single": SINGLETON, "singleton": SINGLETON, "stream": "stream", "chunk": "chunked",
                   "chunked": "chunked"}
_NOT_IMPLEMENTED = {
    "mappings": "subject mappings",
    "maps": "subject mappings",
    "nkey": "account nkeys (operator/JWT mode)",
    "latency": "service latency tracking",
    "account_token_position": "account token positions",
    "share": "service latency sharing",
    "max_leafnodes": "per-account leaf node limits",
    "max_leafs": "per-account leaf node limits",
}
# Read by edgenats.auth.config.
_USER_KEYS = ("users", "default_permissions")


@dataclass(frozen=True)
class Export:
    """A stream or service an account offers; `accounts` None means every account may import it."""

    kind: str
    subject: str
    accounts: tuple[str, ...] | None = None
    response_type: str = SINGLETON
    # How long a stream/chunked service's reply subject stays open for more answers, in seconds.
    response_threshold: float = DEFAULT_RESPONSE_THRESHOLD

    def open_to(self, account: str, subject: str) -> bool:
        return (self.accounts is None or account in self.accounts) and subject_is_subset(subject, self.subject)


@dataclass(frozen=True)
class Import:
    """Messages of `subject` in `account` appear on `local` here (stream), or requests on `local` here
    go to `subject` in `account` (service)."""

    kind: str
    account: str
    subject: str
    local: str
    # Operator mode: the activation token (a JWT the exporter signed) an export with `token_req` needs.
    activation: str = ""

    def mapping(self) -> SubjectMapping:
        """The subject rewrite in the direction messages travel."""
        if self.kind == STREAM:
            return SubjectMapping(self.subject, self.local, use_all_wildcards=True)
        return SubjectMapping(self.local, self.subject, use_all_wildcards=False)


@dataclass(frozen=True)
class AccountLimits:
    """Per-account limits; NO_LIMIT (-1) leaves the server-wide setting alone."""

    max_connections: int = NO_LIMIT
    max_subscriptions: int = NO_LIMIT
    max_payload: int = NO_LIMIT


@dataclass(frozen=True)
class AccountSettings:
    name: str
    exports: tuple[Export, ...] = ()
    imports: tuple[Import, ...] = ()
    limits: AccountLimits = field(default_factory=AccountLimits)
    # None: JetStream is not enabled in this account.
    jetstream: JetStreamLimits | None = None


def account_limits(accounts: dict[str, AccountSettings], name: str) -> AccountLimits:
    """The limits of account `name` (none for an account the block does not configure, like `$G`)."""
    settings = accounts.get(name)
    return settings.limits if settings is not None else AccountLimits()


def smaller_limit(first: int, second: int) -> int:
    """The tighter of two limits where NO_LIMIT (-1) means none."""
    if first < 0 or second < 0:
        return max(first, second)
    return min(first, second)


def _refuse(key: str, where: str) -> None:
    if key in _NOT_IMPLEMENTED:
        raise ValueError(f"{where}.{key}: {_NOT_IMPLEMENTED[key]} is not supported by edgenats")
    raise ValueError(f"{where}: unknown field {key!r}")


def _subject(value: object, where: str) -> str:
    if not isinstance(value, str) or not is_valid_subject(value):
        raise ValueError(f"{where} must be a subject, got {value!r}")
    return value


def _reference(name: object, where: str) -> str:
    """An account named by an export or import; whether it exists is checked once all are read."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where} must be an account name, got {name!r}")
    return name


def _list(value: object, where: str) -> list:
    if not isinstance(value, list | tuple):
        raise ValueError(f"{where} must be an array [ ... ], got {value!r}")
    return list(value)


def _parse_export(entry: object, where: str) -> Export:
    fields = lower_keys(entry, where)
    kinds = [kind for kind in (STREAM, SERVICE) if kind in fields]
    if len(kinds) != 1:
        raise ValueError(f"{where} needs exactly one of 'stream' or 'service'")
    kind = kinds[0]
    values: dict = {"kind": kind, "subject": _subject(fields[kind], f"{where}.{kind}")}
    for key, value in fields.items():
        if key == kind:
            continue
        if key == "accounts":
            names = _list(value, f"{where}.accounts")
            values["accounts"] = tuple(_reference(name, f"{where}.accounts") for name in names)
        elif key in ("response", "response_type") and kind == SERVICE:
            response = _RESPONSE_TYPES.get(str(value).lower())
            if response is None:
                raise ValueError(f"{where}.{key}: unknown response type {value!r} "
                                 "(singleton, stream or chunked)")
            values["response_type"] = response
        elif key in ("threshold", "response_threshold", "response_max_time", "response_time") and kind == SERVICE:
            values["response_threshold"] = positive_duration(value, f"{where}.{key}")
        elif key in ("response", "response_type", "threshold", "response_threshold", "response_max_time",
                     "response_time"):
            raise ValueError(f"{where}.{key}: a response setting on a stream export")
        else:
            _refuse(key, where)
    return Export(**values)


def _parse_import(entry: object, where: str) -> Import:
    fields = lower_keys(entry, where)
    kinds = [kind for kind in (STREAM, SERVICE) if kind in fields]
    if len(kinds) != 1:
        raise ValueError(f"{where} needs exactly one of 'stream' or 'service'")
    kind = kinds[0]
    source = lower_keys(fields[kind], f"{where}.{kind}")
    for key in source:
        if key not in ("account", "subject"):
            _refuse(key, f"{where}.{kind}")
    if "account" not in source or "subject" not in source:
        raise ValueError(f"{where}.{kind} needs an account and a subject")
    exporter = _reference(source["account"], f"{where}.{kind}.account")
    subject = _subject(source["subject"], f"{where}.{kind}.subject")
    local = subject
    for key, value in fields.items():
        if key == kind:
            continue
        if key == "prefix":
            if kind == SERVICE:
                raise ValueError(f"{where}.prefix: a prefix applies to stream imports; use 'to'")
            if "to" in fields:
                raise ValueError(f"{where}: a stream import takes 'prefix' or 'to', not both")
            prefix = _subject(value, f"{where}.prefix")
            if any(token in ("*", ">") for token in prefix.split(".")):
                raise ValueError(f"{where}.prefix must not contain wildcards, got {prefix!r}")
            local = f"{prefix}.{subject}"
        elif key == "to":
            local = _subject(value, f"{where}.to")
        else:
            _refuse(key, where)
    imported = Import(kind, exporter, subject, local)
    try:
        imported.mapping()
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
    return imported


def _parse_limits(block: object, where: str) -> AccountLimits:
    values = {}
    for key, value in lower_keys(block, where).items():
        if key in ("max_connections", "max_conn"):
            name = "max_connections"
        elif key in ("max_subscriptions", "max_subs"):
            name = "max_subscriptions"
        elif key in ("max_payload", "max_pay"):
            name = "max_payload"
        else:
            _refuse(key, where)
        if isinstance(value, bool) or not isinstance(value, int) or value < NO_LIMIT:
            raise ValueError(f"{where}.{key} must be an integer (-1 for no limit), got {value!r}")
        values[name] = value
    return AccountLimits(**values)


def _parse_account(name: str, block: object) -> AccountSettings:
    where = f"accounts.{name}"
    exports: list[Export] = []
    imports: list[Import] = []
    limits = AccountLimits()
    jetstream = None
    for key, value in lower_keys(block, where).items():
        if key == "exports":
            entries = _list(value, f"{where}.exports")
            exports = [_parse_export(entry, f"{where}.exports[{index}]") for index, entry in enumerate(entries)]
        elif key == "imports":
            entries = _list(value, f"{where}.imports")
            imports = [_parse_import(entry, f"{where}.imports[{index}]") for index, entry in enumerate(entries)]
        elif key == "limits":
            limits = _parse_limits(value, f"{where}.limits")
        elif key == "jetstream":
            jetstream = parse_account_jetstream(value, f"{where}.jetstream")
        elif key not in _USER_KEYS:
            _refuse(key, where)
    return AccountSettings(name, tuple(exports), tuple(imports), limits, jetstream)


def _check_references(accounts: dict[str, AccountSettings]) -> None:
    for settings in accounts.values():
        for index, export in enumerate(settings.exports):
            for name in export.accounts or ():
                if name not in accounts:
                    raise ValueError(f"accounts.{settings.name}.exports[{index}]: account {name!r} is not defined")
        local_services: dict[str, int] = {}
        for index, imported in enumerate(settings.imports):
            where = f"accounts.{settings.name}.imports[{index}]"
            exporter = accounts.get(imported.account)
            if exporter is None:
                raise ValueError(f"{where}: account {imported.account!r} is not defined")
            if not any(export.kind == imported.kind and export.open_to(settings.name, imported.subject)
                       for export in exporter.exports):
                raise ValueError(f"{where}: {imported.kind} import {imported.subject!r} from account "
                                 f"{imported.account!r} not authorized (no matching export open to "
                                 f"{settings.name!r})")
            if imported.kind == SERVICE:
                if imported.local in local_services:
                    raise ValueError(f"{where}: duplicate service import subject {imported.local!r} (also "
                                     f"imports[{local_services[imported.local]}])")
                local_services[imported.local] = index


def _flow(account: str, imported: Import) -> tuple[str, str, str, str]:
    """(from account, from subject, to account, to subject) in the direction messages travel."""
    if imported.kind == STREAM:
        return imported.account, imported.subject, account, imported.local
    return account, imported.local, imported.account, imported.subject


def _check_cycles(accounts: dict[str, AccountSettings]) -> None:
    """A message an import carries must never come back to that import, through any chain."""
    for kind in (STREAM, SERVICE):
        edges = [(settings.name, index, _flow(settings.name, imported))
                 for settings in accounts.values() for index, imported in enumerate(settings.imports)
                 if imported.kind == kind]
        for start_account, start_index, start in edges:
            reached = [(start[2], start[3])]
            seen = set()
            while reached:
                account, subject = reached.pop()
                for owner, index, (source, source_subject, target, target_subject) in edges:
                    if source != account or not subjects_overlap(subject, source_subject):
                        continue
                    if (owner, index) == (start_account, start_index):
                        raise ValueError(f"accounts.{start_account}.imports[{start_index}]: import forms a "
                                         f"cycle ({kind}: {_describe(start)})")
                    if (owner, index) not in seen:
                        seen.add((owner, index))
                        reached.append((target, target_subject))


def _describe(flow: tuple[str, str, str, str]) -> str:
    source, source_subject, target, target_subject = flow
    return f"{source_subject!r} in {source!r} goes to {target_subject!r} in {target!r}"


def parse_accounts(block: object) -> dict[str, AccountSettings]:
    """Every configured account's exports, imports and limits; raises ValueError naming the key."""
    if isinstance(block, list | tuple):
        names = [account_name(name) for name in block]
        return {name: AccountSettings(name) for name in names}
    if not isinstance(block, dict):
        raise ValueError(f"accounts must be a block {{ ... }} or an array of names, got {block!r}")
    accounts = {}
    for name, account_block in block.items():
        name = account_name(name)
        accounts[name] = _parse_account(name, account_block)
    _check_references(accounts)
    _check_cycles(accounts)
    return accounts
