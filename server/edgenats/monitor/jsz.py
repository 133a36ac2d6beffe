"""/jsz: JetStream's usage and accounts (edgenats.jetstream.jsz builds it) with nats-server's query
options (acc, accounts, streams, consumers, config, offset, limit), or nats-server's exact answer when
JetStream is not enabled."""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgenats.jetstream.jsz import JszOptions, build_jsz
from edgenats.monitor.formats import rfc3339

if TYPE_CHECKING:
    from edgenats.monitor.query import Query
    from edgenats.surface import ServerSurface


def query_options(query: Query) -> JszOptions:
    return JszOptions(account=query.text("acc"), accounts=query.flag("accounts"), streams=query.flag("streams"),
                      consumers=query.flag("consumers"), config=query.flag("config"),
                      offset=query.integer("offset", 0), limit=query.integer("limit", 0))


def jsz(server: ServerSurface, options: JszOptions) -> dict:
    if server.jetstream is None:
        return disabled_jsz(server)
    return build_jsz(server.jetstream, server.server_id, options)


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
