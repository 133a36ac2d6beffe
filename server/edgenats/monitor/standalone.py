"""The endpoints of features a standalone edgenats does not run: /routez and /gatewayz answer
in nats-server's shape with nothing in them; /leafz lists the leaf links when leafnodes are
configured; /healthz says the broker is serving.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgenats.monitor.formats import go_duration, rfc3339

if TYPE_CHECKING:
    from edgenats.monitor.query import Query
    from edgenats.surface import ServerSurface


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


def build_healthz(server: ServerSurface) -> dict:
    # The monitor answering from the broker's own event loop is the proof that the broker is serving;
    # the JetStream-specific options (js-enabled-only, js-server-only) have nothing more to check.
    return {"status": "ok"}
