"""The JSON documents of the system account, built from the server's public surface: the `server`
block every answer and event carries, STATSZ, and a connection as events describe it.

Field names, order and omissions follow nats-server 2.x (Go leaves out empty `omitempty` fields).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from edgenats.monitor.formats import go_float, rfc3339

if TYPE_CHECKING:
    from edgenats.monitor.varz import ProcessUsage
    from edgenats.surface import ServerSurface

_NS_PER_S = 1_000_000_000


def server_block(server: ServerSurface, seq: int) -> dict:
    """Who sends: nats-server's ServerInfo (no cluster or capability flags here)."""
    return {
        "name": server.server_name,
        "host": server.base_info["host"],
        "id": server.server_id,
        "ver": server.base_info["version"],
        "jetstream": server.jetstream is not None,
        "flags": 0,
        "seq": seq,
        "time": rfc3339(),
    }


def _traffic(messages: int, size: int) -> dict:
    return {"msgs": messages, "bytes": size}


def build_statsz(server: ServerSurface, usage: ProcessUsage) -> dict:
    """The "statsz" of a STATSZ answer or update: the server's totals and its process usage."""
    totals = server.totals()
    received = _traffic(totals["in_msgs"], totals["in_bytes"])
    sent = _traffic(totals["out_msgs"], totals["out_bytes"])
    return {
        "start": rfc3339(server.start_time),
        "mem": usage.memory(),
        "cores": os.cpu_count() or 1,
        "cpu": go_float(usage.cpu()),
        "connections": sum(1 for c in server.connections.values() if c.kind == "Client"),
        "total_connections": server.total_connections,
        "active_accounts": sum(1 for account in server.accounts.values() if account.connections),
        "subscriptions": server.subscription_count(),
        # Every connection edgenats counts is a client's or a leaf link's: both pairs are the same.
        "sent": sent,
        "sent_to_clients": dict(sent),
        "received": received,
        "received_from_clients": dict(received),
        "slow_consumers": server.slow_consumers,
        "active_servers": 1,
        # The broker runs on one event-loop thread (as /varz says).
        "gomaxprocs": 1,
    }


def client_block(connection, stop: float | None = None) -> dict:
    """A client or leaf link as CONNECT/DISCONNECT events describe it (nats-server's ClientInfo)."""
    leaf = connection.kind == "Leafnode"
    info: dict = {"start": rfc3339(connection.start_time), "host": connection.host, "id": connection.cid,
                  "acc": connection.account.name}
    if not leaf:
        user = connection.user.name if connection.user else ""
        fields = {"user": user, "name": connection.name, "lang": connection.lang, "ver": connection.version}
    elif connection.solicited:
        # nats-server names neither itself nor the hub it dialled.
        fields = {}
    else:
        fields = {"user": connection.user_name, "name": connection.name, "ver": connection.peer_version}
    info.update((key, value) for key, value in fields.items() if value)
    if stop is not None:
        rtt = round(connection.rtt * _NS_PER_S)
        if rtt:
            info["rtt"] = rtt
        info["stop"] = rfc3339(stop)
    # A user JWT login (operator mode) adds its token and issuer; the name tag is then the account JWT's name.
    identity = connection.user.jwt if not leaf and connection.user else None
    if identity is not None:
        info["jwt"] = identity.token
        info["issuer_key"] = identity.issuer
    info["name_tag"] = identity.name_tag if identity is not None and identity.name_tag else connection.account.name
    info["kind"] = connection.kind
    if not leaf:
        info["client_type"] = "nats"
    return info


def event_envelope(event_type: str, event_id: str, server_info: dict, when: float | None = None) -> dict:
    return {"type": event_type, "id": event_id, "timestamp": rfc3339(when if when is not None else time.time()),
            "server": server_info}
