"""The endpoints of features a standalone edgenats does not run: /routez and /gatewayz answer
in nats-server's shape with nothing in them; /leafz lists the leaf links when leafnodes are
configured; /healthz says whether the broker is serving, and JetStream with it, as nats-server does.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from edgenats.monitor.formats import go_duration, rfc3339

if TYPE_CHECKING:
    from edgenats.monitor.query import Query
    from edgenats.surface import ServerSurface

log = logging.getLogger("edgenats")


def build_routez(server: ServerSurface) -> dict:
    return {"server_id": server.server_id, "server_name": server.server_name, "now": rfc3339(),
            "num_routes": 0, "routes": []}


def build_gatewayz(server: ServerSurface) -> dict:
    return {"server_id": server.server_id, "now": rfc3339(), "outbound_gateways": {}, "inbound_gateways": {}}


def build_leafz(server: ServerSurface, query: Query) -> dict:
    leafz = {"server_id": server.server_id, "now": rfc3339(), "leafnodes": 0, "leafs": []}
    if server.leafnodes is not None:
        # The links' own view; edgenats adds each link's state and the remotes it dials.
        leafz.update(server.leafnodes.status(subs=query.flag("subs")))
        for leaf in leafz["leafs"]:
            leaf["rtt"] = go_duration(leaf["rtt"])
    return leafz


def build_healthz(server: ServerSurface, js_enabled_only: bool = False, js_server_only: bool = False,
                  js_enabled: bool = False) -> tuple[int, dict]:
    """The status code and the document (/healthz, $SYS.REQ.SERVER.PING.HEALTHZ): 500 while the client
    port does not accept (starting, lame duck), 503 when JetStream is configured but not running or a
    stream's store cannot write (streams checked unless `js-enabled-only` or `js-server-only`; the older
    `js-enabled` is `js-enabled-only`), else 200. The monitor answering from the broker's own event loop
    is the proof that the loop runs."""
    if js_enabled:
        log.warning("Healthcheck: js-enabled deprecated, use js-enabled-only instead")
    status, document = _health(server, js_enabled_only or js_server_only or js_enabled)
    if status != 200:
        log.warning('Healthcheck failed: "%s"', document["error"])
    return status, document


def healthz_query(server: ServerSurface, query: Query) -> tuple[int, dict]:
    """/healthz with its query options."""
    return build_healthz(server, query.flag("js-enabled-only"), query.flag("js-server-only"),
                         query.flag("js-enabled"))


def _health(server: ServerSurface, jetstream_enabled_only: bool) -> tuple[int, dict]:
    if not server.accepting():
        return 500, {"status": "error", "error": "failed to be ready for connections after 1ms: server"}
    if not server.options.jetstream.enabled:
        return 200, {"status": "ok"}
    if server.jetstream is None:
        return 503, {"status": "unavailable", "error": "JetStream not enabled"}
    if not jetstream_enabled_only and (problem := server.jetstream.write_problem()) is not None:
        return 503, {"status": "unavailable", "error": problem}
    return 200, {"status": "ok"}
