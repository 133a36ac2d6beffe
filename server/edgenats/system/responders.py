"""The requests a server answers in its system account: `$SYS.REQ.SERVER.PING` (STATSZ, kept for old
tools), `$SYS.REQ.SERVER.PING.<KIND>` (every server), `$SYS.REQ.SERVER.<id>.<KIND>` (this one) and
`$SYS.REQ.ACCOUNT.<account>.JSZ` (one account's JetStream detail).

A request body is JSON: nats-server's options of the matching monitoring endpoint plus its server
filter (server_name, host, cluster, exact_match, tags, domain); a server the filter excludes stays
silent. Answers reuse the HTTP endpoints' builders: {"server": {...}, "data": {...}}, or "statsz"
for STATSZ, or "error": {code, description} (400 for a body that is not the options, 500 for
options the endpoint refuses).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from edgenats.monitor.connz import build_connz
from edgenats.monitor.query import Query, QueryError
from edgenats.monitor.standalone import build_healthz, build_leafz
from edgenats.monitor.subsz import build_subsz
from edgenats.monitor.varz import build_varz
from edgenats.system.messages import build_statsz

if TYPE_CHECKING:
    from edgenats.account import Account
    from edgenats.monitor.varz import ProcessUsage
    from edgenats.surface import ServerSurface


class SystemAccount(Protocol):
    """What the responders answer with: the system account's server, its account and its publishing."""

    server: ServerSurface
    account: Account
    usage: ProcessUsage

    def server_block(self) -> dict:
        """The `server` object of an answer (its sequence number grows with each)."""

    def publish(self, subject: str, document: dict) -> None: ...

    def http_req_stats(self) -> dict[str, int]: ...

PING_SUBJECT = "$SYS.REQ.SERVER.PING"
ACCOUNT_JSZ_SUBJECT = "$SYS.REQ.ACCOUNT.*.JSZ"
KINDS = ("STATSZ", "VARZ", "CONNZ", "SUBSZ", "LEAFZ", "JSZ", "HEALTHZ")

# The server filter every request may carry: JSON field -> (Python type, Go type for errors).
_FILTER_FIELDS = {"server_name": (str, "string"), "cluster": (str, "string"), "host": (str, "string"),
                  "exact_match": (bool, "bool"), "tags": (list, "[]string"), "domain": (str, "string")}
# Each kind's options (nats-server's <Kind>Options JSON names) and its Go struct name for errors.
_OPTION_FIELDS: dict[str, tuple[str, dict]] = {
    "STATSZ": ("StatszEventOptions", {}),
    "VARZ": ("VarzEventOptions", {}),
    "CONNZ": ("ConnzEventOptions", {
        "sort": (str, "server.SortOpt"), "auth": (bool, "bool"), "subscriptions": (bool, "bool"),
        "subscriptions_detail": (bool, "bool"), "offset": (int, "int"), "limit": (int, "int"),
        "cid": (int, "uint64"), "state": (int, "server.ConnState"), "user": (str, "string"),
        "acc": (str, "string"), "mqtt_client": (str, "string"), "filter_subject": (str, "string"),
    }),
    "SUBSZ": ("SubszEventOptions", {
        "offset": (int, "int"), "limit": (int, "int"), "subscriptions": (bool, "bool"),
        "account": (str, "string"), "test": (str, "string"),
    }),
    "LEAFZ": ("LeafzEventOptions", {"subscriptions": (bool, "bool"), "account": (str, "string")}),
    "JSZ": ("JszEventOptions", {
        "account": (str, "string"), "accounts": (bool, "bool"), "streams": (bool, "bool"),
        "consumer": (bool, "bool"), "direct_consumer": (bool, "bool"), "config": (bool, "bool"),
        "leader_only": (bool, "bool"), "offset": (int, "int"), "limit": (int, "int"), "raft": (bool, "bool"),
        "stream_leader_only": (bool, "bool"),
    }),
    "HEALTHZ": ("HealthzEventOptions", {
        "js-enabled-only": (bool, "bool"), "js-server-only": (bool, "bool"), "js-meta-only": (bool, "bool"),
        "account": (str, "string"), "stream": (str, "string"), "consumer": (str, "string"),
        "details": (bool, "bool"),
    }),
}
_JSON_KINDS = {dict: "object", list: "array", str: "string", bool: "bool", int: "number", float: "number"}
_CONNZ_STATES = {0: "open", 1: "closed", 2: "all"}


class BadRequest(Exception):
    """A request body that is not the kind's options (answered with a 400 error)."""


def parse_options(kind: str, payload: bytes) -> dict:
    """The JSON options of a request, checked against the types nats-server decodes them into."""
    if not payload:
        return {}
    if not payload.strip():
        raise BadRequest("unexpected end of JSON input")
    struct, fields = _OPTION_FIELDS[kind]
    try:
        options = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"invalid JSON: {error}") from None
    if not isinstance(options, dict):
        raise BadRequest(f"json: cannot unmarshal {_json_kind(options)} into Go value of type server.{struct}")
    for name, value in options.items():
        expected = fields.get(name) or _FILTER_FIELDS.get(name)
        if expected is None or value is None:
            continue  # Go ignores unknown fields and null values.
        python_type, go_type = expected
        if not isinstance(value, python_type) or (python_type is int and isinstance(value, bool)) or (
            python_type is list and not all(isinstance(item, str) for item in value)
        ):
            raise BadRequest(f"json: cannot unmarshal {_json_kind(value)} into Go struct field "
                             f"{struct}.{name} of type {go_type}")
    return options


def _json_kind(value) -> str:
    return _JSON_KINDS.get(type(value), "value")


def excluded_by_filter(system: SystemAccount, options: dict) -> bool:
    """True when the request's server filter does not select this server (nats-server's filterRequest)."""
    server = system.server
    values = {"server_name": server.server_name, "host": server.base_info["host"], "cluster": ""}
    exact = options.get("exact_match") is True
    for field, own in values.items():
        wanted = options.get(field) or ""
        if wanted and (wanted != own if exact else wanted not in own):
            return True
    # edgenats has no server tags: asking for any excludes it.
    domain = server.options.jetstream.domain if server.jetstream is not None else ""
    return bool(options.get("tags")) or bool(options.get("domain")) and options["domain"] != domain


def _connz_query(options: dict) -> Query:
    values: dict = {}
    for name in ("sort", "offset", "limit", "cid", "acc"):
        if options.get(name):
            values[name] = options[name]
    if options.get("auth"):
        values["auth"] = 1
    if options.get("subscriptions_detail"):
        values["subs"] = "detail"
    elif options.get("subscriptions"):
        values["subs"] = 1
    state = options.get("state")
    if state is not None:
        if state not in _CONNZ_STATES:
            raise QueryError(f"invalid connection state: {state}")
        values["state"] = _CONNZ_STATES[state]
    return _query(values)


def _query(values: dict) -> Query:
    """`values` as the query string of the matching HTTP request."""
    from urllib.parse import urlencode  # at the first request, as the HTTP endpoints' query parsing

    return Query(urlencode(values))


def _subsz_query(options: dict) -> Query:
    values: dict = {name: options[name] for name in ("offset", "limit", "test") if options.get(name)}
    if options.get("account"):
        values["acc"] = options["account"]
    if options.get("subscriptions"):
        values["subs"] = 1
    return _query(values)


def _jsz(server: ServerSurface, options: dict, account: str | None = None) -> dict:
    """The JSZ document, or one account's (`$SYS.REQ.ACCOUNT.<account>.JSZ`)."""
    # The builders load at the first JSZ request: with JetStream off they are 1.3 MB of modules.
    from edgenats.jetstream.jsz import JszOptions
    from edgenats.monitor.jsz import account_jsz, jsz

    query = JszOptions(account=options.get("account") or "", accounts=options.get("accounts") is True,
                       streams=options.get("streams") is True, consumers=options.get("consumer") is True,
                       config=options.get("config") is True, offset=options.get("offset") or 0,
                       limit=options.get("limit") or 0)
    return jsz(server, query) if account is None else account_jsz(server, account, query)


def _healthz(system: SystemAccount, options: dict) -> dict:
    status, document = build_healthz(system.server, options.get("js-enabled-only") is True,
                                     options.get("js-server-only") is True, options.get("js-enabled") is True)
    return {**document, "status_code": status}


def data_builders(system: SystemAccount) -> dict[str, Callable[[dict], dict]]:
    """Kind -> builder of its "data" from the request options (STATSZ is answered differently)."""
    server = system.server
    return {
        "VARZ": lambda options: build_varz(server, system.usage, system.http_req_stats()),
        "CONNZ": lambda options: build_connz(server, _connz_query(options)),
        "SUBSZ": lambda options: build_subsz(server, _subsz_query(options)),
        "LEAFZ": lambda options: build_leafz(server, Query("subs=1" if options.get("subscriptions") else "")),
        "JSZ": lambda options: _jsz(server, options),
        "HEALTHZ": lambda options: _healthz(system, options),
    }


class Responders:
    """Subscribes the system account's request subjects and answers each request."""

    def __init__(self, system: SystemAccount) -> None:
        self._system = system
        self._builders = data_builders(system)

    def subscribe(self) -> list:
        system = self._system
        subscriptions = [system.account.subscribe_internal(PING_SUBJECT, self._handler("STATSZ"))]
        for kind in KINDS:
            handler = self._handler(kind)
            subscriptions.append(system.account.subscribe_internal(f"{PING_SUBJECT}.{kind}", handler))
            direct = f"$SYS.REQ.SERVER.{system.server.server_id}.{kind}"
            subscriptions.append(system.account.subscribe_internal(direct, handler))
        subscriptions.append(system.account.subscribe_internal(ACCOUNT_JSZ_SUBJECT, self._account_jsz))
        return subscriptions

    def _handler(self, kind: str):
        def handle(subject: str, reply: str | None, headers: bytes | None, payload: bytes) -> None:
            self.answer(kind, reply, payload)

        return handle

    def _account_jsz(self, subject: str, reply: str | None, headers: bytes | None, payload: bytes) -> None:
        name = subject.split(".")[3]
        server = self._system.server
        self.answer("JSZ", reply, payload, lambda options: _jsz(server, options, name))

    def answer(self, kind: str, reply: str | None, payload: bytes,
               build: Callable[[dict], dict] | None = None) -> None:
        """Answer a request of `kind` with its builder, or with `build` when given."""
        system = self._system
        if not reply:
            return
        try:
            options = parse_options(kind, payload)
        except BadRequest as error:
            system.publish(reply, {"server": system.server_block(), "error": {"code": 400,
                                                                              "description": str(error)}})
            return
        if excluded_by_filter(system, options):
            return
        if kind == "STATSZ":
            system.publish(reply, {"server": system.server_block(), "statsz": build_statsz(system.server,
                                                                                          system.usage)})
            return
        system.server.settle_counters()
        try:
            data = (build or self._builders[kind])(options)
        except QueryError as error:
            system.publish(reply, {"server": system.server_block(), "data": None,
                                   "error": {"code": 500, "description": str(error)}})
            return
        system.publish(reply, {"server": system.server_block(), "data": data})
