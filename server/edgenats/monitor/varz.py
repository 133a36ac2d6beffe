"""/varz: the server's identity, limits and running totals, with nats-server's field names and types.

Fields for features edgenats does not have or that are not configured (clustering, gateways, MQTT,
WebSocket, JetStream) are present with the values an unconfigured nats-server reports, because tools
read them unconditionally.

edgenats adds `jetstream.store_disk` (not in nats-server): the size, use and free space of the file
system the store folder is on, so an operator sees how full the SD card is.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from edgenats.client_tls_settings import DEFAULT_TIMEOUT as DEFAULT_TLS_TIMEOUT
from edgenats.monitor.formats import go_float, go_uptime, rfc3339

if TYPE_CHECKING:
    from edgenats.surface import ServerSurface

_NS_PER_S = 1_000_000_000


class ProcessUsage:
    """Memory and CPU of this process; CPU is the share used since the previous report (all threads), as
    a percent, as nats-server and psutil count it."""

    def __init__(self) -> None:
        self._cpu_mark = (time.process_time(), time.monotonic())

    def memory(self) -> int:
        # psutil loads at the first report, not with every broker: it costs about 1.4 MB of RSS.
        import psutil

        return psutil.Process(os.getpid()).memory_info().rss

    def cpu(self) -> float:
        cpu_seconds, now = time.process_time(), time.monotonic()
        used, elapsed = cpu_seconds - self._cpu_mark[0], now - self._cpu_mark[1]
        self._cpu_mark = (cpu_seconds, now)
        return round(100 * used / elapsed, 2) if elapsed > 0 else 0.0


def _count_kind(server: ServerSurface, kind: str) -> int:
    return sum(1 for connection in server.connections.values() if connection.kind == kind)


def _per_kind(clients: int, leafs: int = 0) -> dict[str, int]:
    return {"clients": clients, "routes": 0, "gateways": 0, "leafs": leafs}


def _jetstream(server: ServerSurface) -> dict:
    if server.jetstream is None:
        return {}
    import shutil

    from edgenats.jetstream.jsz import build_varz_jetstream  # loaded with JetStream only

    document = build_varz_jetstream(server.jetstream)
    disk = shutil.disk_usage(server.jetstream.root)
    document["store_disk"] = {"path": str(server.jetstream.root), "total": disk.total, "used": disk.used,
                              "free": disk.free}
    return document


def build_varz(server: ServerSurface, usage: ProcessUsage, http_req_stats: dict[str, int]) -> dict:
    options = server.options
    info = server.base_info
    totals = server.totals()
    now = time.time()
    varz: dict = {
        "server_id": server.server_id,
        "server_name": server.server_name,
        "version": info["version"],
        "proto": info["proto"],
        "go": info["go"],
        "host": options.host,
        "port": info["port"],
    }
    if server.authenticator.auth_required:
        varz["auth_required"] = True
    client_tls = server.client_tls
    if client_tls is not None:
        varz.update(client_tls.varz_fields())
    varz["max_connections"] = options.max_connections
    if options.max_subscriptions:
        varz["max_subscriptions"] = options.max_subscriptions
    varz.update({
        # nats-server writes these two time.Durations as integer nanoseconds.
        "ping_interval": round(options.ping_interval * _NS_PER_S),
        "ping_max": options.ping_max,
        "http_host": options.http_host,
        "http_port": options.http_port,
        **({"http_auth_required": True} if options.http_user else {}),  # edgenats: http_user/http_password
        "http_base_path": "",
        "https_port": 0,
        "auth_timeout": go_float(server.authenticator.timeout),
        "max_control_line": options.max_control_line,
        "max_payload": options.max_payload,
        "max_pending": options.max_pending,
        "cluster": {},
        "gateway": {},
        "leaf": {},
        "mqtt": {},
        "websocket": options.websocket.varz() if options.websocket is not None else {},
        "jetstream": _jetstream(server),
        # nats-server reports its default when the client port has no TLS.
        "tls_timeout": go_float(client_tls.settings.timeout if client_tls is not None else DEFAULT_TLS_TIMEOUT),
        **({"tls_cert_not_after": rfc3339(client_tls.certificate_not_after)} if client_tls is not None else {}),
        "write_deadline": round(options.write_deadline * _NS_PER_S),
        "start": rfc3339(server.start_time),
        "now": rfc3339(now),
        "uptime": go_uptime(now - server.start_time),
        "mem": usage.memory(),
        "cores": os.cpu_count() or 1,
        # The broker runs on one event-loop thread: that is its parallelism, whatever the core count.
        "gomaxprocs": 1,
        "cpu": usage.cpu(),
        "connections": _count_kind(server, "Client"),
        "total_connections": server.total_connections,
        "routes": 0,
        "remotes": 0,
        "leafnodes": len(server.leafnodes.connected_links()) if server.leafnodes is not None else 0,
        "in_msgs": totals["in_msgs"],
        "out_msgs": totals["out_msgs"],
        "in_bytes": totals["in_bytes"],
        "out_bytes": totals["out_bytes"],
        "slow_consumers": server.slow_consumers,
        "stale_connections": server.stale_connections,
        "subscriptions": server.subscription_count(),
        "http_req_stats": dict(http_req_stats),
        "config_load_time": rfc3339(server.config_load_time),
        "system_account": server.system_account.name,
        "slow_consumer_stats": _per_kind(server.slow_consumers - server.leaf_slow_consumers,
                                         server.leaf_slow_consumers),
        "stale_connection_stats": _per_kind(server.stale_connections),
    })
    return varz
