"""/jsz: JetStream's usage and accounts (edgenats.jetstream.jsz builds it) with nats-server's query
options (acc, accounts, streams, consumers, config, offset, limit), or nats-server's exact answer when
JetStream is not enabled; and one account's JSZ detail, or why there is none (nats-server's texts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgenats.jetstream.jsz import JszOptions, account_detail, build_jsz
from edgenats.monitor.formats import rfc3339
from edgenats.monitor.query import Query, QueryError

if TYPE_CHECKING:
    from edgenats.surface import ServerSurface


def query_options(query: Query) -> JszOptions:
    return JszOptions(account=query.text("acc"), accounts=query.flag("accounts"), streams=query.flag("streams"),
                      consumers=query.flag("consumers"), config=query.flag("config"),
                      offset=query.integer("offset", 0), limit=query.integer("limit", 0))


def jsz(server: ServerSurface, options: JszOptions) -> dict:
    if server.jetstream is None:
        return disabled_jsz(server)
    return build_jsz(server.jetstream, server.server_id, options)


def account_jsz(server: ServerSurface, name: str, options: JszOptions) -> dict:
    """The detail of account `name`; QueryError when JetStream or the account is missing."""
    if server.jetstream is None:
        raise QueryError("jetstream not enabled")
    if name not in server.accounts:
        raise QueryError(f'account "{name}" not found')
    if name not in server.jetstream.accounts:
        raise QueryError(f'account "{name}" not jetstream enabled')
    return account_detail(server.jetstream, name, options)


def disabled_jsz(server: ServerSurface) -> dict:
    """nats-server's exact answer when JetStream is not enabled."""
    return {
        "memory": 0,
        "storage": 0,
        "reserved_memory": 0,
        "reserved_storage": 0,
        "accounts": 0,
        "ha_assets": 0,
        "api": {"level": 0, "total": 0, "errors": 0},
        "server_id": server.server_id,
        "now": rfc3339(),
        "disabled": True,
        "config": {"max_memory": 0, "max_storage": 0},
        "streams": 0,
        "consumers": 0,
        "messages": 0,
        "bytes": 0,
        "total": 0,
    }
