"""/connz: open and recently closed connections, filtered, sorted and paged as nats-server does.

Only the requested page is turned into JSON, so a broker with many connections answers cheaply.
Sorting by cid is ascending (and free: connections are kept in cid order); every other sort is
descending except `reason`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from edgenats.account import GLOBAL_ACCOUNT
from edgenats.client_tls import peer_certificates, session_fields
from edgenats.monitor.formats import go_duration, go_uptime, rfc3339
from edgenats.monitor.query import Query, QueryError
from edgenats.surface import ClosedConnection

if TYPE_CHECKING:
    from edgenats.auth.identity import JwtIdentity
    from edgenats.sublist import Subscription
    from edgenats.surface import ServerSurface

Listed = Any  # an open connection (ClientConnection or another kind) or a ClosedConnection


def _is_closed(connection: Listed) -> bool:
    return isinstance(connection, ClosedConnection)


def _start(connection: Listed) -> float:
    return connection.start if _is_closed(connection) else connection.start_time


def _last(connection: Listed) -> float:
    # A closed connection keeps no last-activity time; its start is what an open one reports today.
    return connection.start if _is_closed(connection) else connection.last_activity


def _end(connection: Listed, now: float) -> float:
    return connection.stop if _is_closed(connection) else now


def _subscription_count(connection: Listed) -> int:
    return len(getattr(connection, "subscriptions", ()))


def _pending(connection: Listed) -> int:
    transport = getattr(connection, "transport", None)
    return transport.get_write_buffer_size() if transport is not None and not transport.is_closing() else 0


def _sort_keys(now: float) -> dict[str, tuple[Callable[[Listed], Any], bool]]:
    """Sort name -> (key, descending)."""
    return {
        "cid": (lambda c: c.cid, False),
        "start": (_start, False),
        "subs": (_subscription_count, True),
        "pending": (_pending, True),
        "msgs_to": (lambda c: c.out_msgs, True),
        "msgs_from": (lambda c: c.in_msgs, True),
        "bytes_to": (lambda c: c.out_bytes, True),
        "bytes_from": (lambda c: c.in_bytes, True),
        "last": (_last, True),
        "idle": (lambda c: _end(c, now) - _last(c), True),
        "uptime": (lambda c: _end(c, now) - _start(c), True),
        "stop": (lambda c: c.stop, True),
        "reason": (lambda c: c.reason, False),
        "rtt": (lambda c: getattr(c, "rtt", 0.0), True),
    }


_CLOSED_ONLY_SORTS = ("stop", "reason")


def _account_name(connection: Listed) -> str:
    if _is_closed(connection):
        return connection.account
    return connection.account.name


def _user_name(connection: Listed) -> str:
    if _is_closed(connection):
        return connection.user
    user = getattr(connection, "user", None)
    return user.name if user is not None else ""


def _jwt_identity(connection: Listed) -> JwtIdentity | None:
    if _is_closed(connection):
        return connection.jwt
    user = getattr(connection, "user", None)
    return user.jwt if user is not None else None


def subscription_detail(subscription: Subscription, cid: int) -> dict:
    """One subscription as nats-server lists it (Go omits an empty queue group and a zero max)."""
    detail: dict = {"subject": subscription.subject}
    if subscription.queue:
        detail["qgroup"] = subscription.queue
    detail["sid"] = subscription.sid.decode("latin-1")
    detail["msgs"] = subscription.delivered
    if subscription.max_msgs:
        detail["max"] = subscription.max_msgs
    detail["cid"] = cid
    return detail


def _connection_info(connection: Listed, now: float, subs: str, auth: bool) -> dict:
    closed = _is_closed(connection)
    info: dict = {"cid": connection.cid, "kind": connection.kind}
    if connection.kind == "Client":
        # nats-server gives a client's type (nats, websocket, mqtt); a leaf link has none.
        info["type"] = "nats"
    info.update({
        "ip": connection.host,
        "port": connection.port,
        "start": rfc3339(_start(connection)),
        "last_activity": rfc3339(_last(connection)),
    })
    if closed:
        info["stop"] = rfc3339(connection.stop)
        info["reason"] = connection.reason
    else:
        info["rtt"] = go_duration(connection.rtt)
    end = _end(connection, now)
    info.update({
        "uptime": go_uptime(end - _start(connection)),
        "idle": go_uptime(end - _last(connection)),
        "pending_bytes": _pending(connection),
        "in_msgs": connection.in_msgs,
        "out_msgs": connection.out_msgs,
        "in_bytes": connection.in_bytes,
        "out_bytes": connection.out_bytes,
        "subscriptions": _subscription_count(connection),
    })
    # Go leaves these out when empty.
    for field in ("name", "lang", "version"):
        value = getattr(connection, field, "")
        if value:
            info[field] = value
    if not closed:
        info.update(session_fields(connection.transport))
    if auth and not closed:
        certificates = peer_certificates(connection.transport)
        if certificates:
            info["tls_peer_certs"] = certificates
    if auth:
        user = _user_name(connection)
        if user:
            info["authorized_user"] = user
        account = _account_name(connection)
        if account != GLOBAL_ACCOUNT:
            info["account"] = account
        identity = _jwt_identity(connection)
        if identity is not None:
            info.update({"jwt": identity.token, "issuer_key": identity.issuer})
            if identity.name_tag:
                info["name_tag"] = identity.name_tag
    subscriptions = list(getattr(connection, "subscriptions", {}).values())
    if subscriptions and subs == "detail":
        info["subscriptions_list_detail"] = [subscription_detail(sub, connection.cid) for sub in subscriptions]
    elif subscriptions and subs == "list":
        info["subscriptions_list"] = [sub.subject for sub in subscriptions]
    return info


def _subs_mode(query: Query) -> str:
    if query.text("subs") == "detail":
        return "detail"
    return "list" if query.flag("subs") else ""


def _open_connections(server: ServerSurface) -> list[Listed]:
    """Clients and established leaf links (as nats-server lists them), in cid order."""
    clients = list(server.connections.values())
    if server.leafnodes is None:
        return clients
    links = server.leafnodes.connected_links()
    return sorted(clients + links, key=lambda connection: connection.cid) if links else clients


def _candidates(server: ServerSurface, state: str, cid: int) -> list[Listed]:
    open_connections = _open_connections(server) if state in ("open", "all") else []
    closed: list[ClosedConnection] = list(server.closed_connections) if state in ("closed", "all") else []
    if cid:
        return [c for c in open_connections + closed if c.cid == cid][:1]
    return open_connections + closed


def build_connz(server: ServerSurface, query: Query) -> dict:
    now = time.time()
    state = query.text("state", "open").lower()
    if state not in ("open", "closed", "all"):
        raise QueryError(f"Error decoding state for {state}")
    sort = query.text("sort", "cid").lower() or "cid"
    sort_keys = _sort_keys(now)
    if sort not in sort_keys:
        raise QueryError(f"invalid sorting option: {sort}")
    if sort in _CLOSED_ONLY_SORTS and state != "closed":
        raise QueryError(f"sort by {sort} only valid on closed connections")
    offset, limit = query.paging()
    cid = query.integer("cid", 0)
    if cid:
        limit = 1
    account = query.text("acc")
    subs = _subs_mode(query)
    auth = query.flag("auth")

    connections = _candidates(server, state, cid)
    if account:
        connections = [c for c in connections if _account_name(c) == account]
    # Open connections come in cid order and closed ones in closing order; "all" mixes the two.
    if sort != "cid" or state != "open":
        key, descending = sort_keys[sort]
        connections.sort(key=key, reverse=descending)
    page = connections[offset:offset + limit]
    return {
        "server_id": server.server_id,
        "now": rfc3339(now),
        "num_connections": len(page),
        "total": len(connections),
        "offset": offset,
        "limit": limit,
        "connections": [_connection_info(c, now, subs, auth) for c in page],
    }
