"""MonitorServer: the broker's HTTP monitoring port. Routes GET requests to the endpoint builders,
counts requests per endpoint (`http_req_stats` in /varz) and writes JSON as nats-server does; serves
the site dashboard at /dashboard/, /servicez and /metrics (edgenats' own additions).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from edgenats.monitor.access import REALM_HEADER, MonitorAccess
from edgenats.monitor.connz import build_connz
from edgenats.monitor.dashboard_files import HEADERS as DASHBOARD_HEADERS
from edgenats.monitor.dashboard_files import DashboardFiles
from edgenats.monitor.formats import go_json
from edgenats.monitor.http_transport import HTTPServer, Request, Response
from edgenats.monitor.index import build_index
from edgenats.monitor.jsz import jsz, query_options
from edgenats.monitor.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from edgenats.monitor.metrics import build_metrics
from edgenats.monitor.query import Query, QueryError
from edgenats.monitor.servicez import build_servicez
from edgenats.monitor.standalone import build_gatewayz, build_leafz, build_routez, healthz_query
from edgenats.monitor.subsz import build_subsz
from edgenats.monitor.varz import ProcessUsage, build_varz

if TYPE_CHECKING:
    from edgenats.surface import ServerSurface

log = logging.getLogger("edgenats")

_TEXT = "text/plain; charset=utf-8"
_ALLOWED_METHODS = ("GET", "HEAD")
# Every JSON answer may be read by a dashboard served from another origin.
_JSON_HEADERS = [("Access-Control-Allow-Origin", "*")]

Endpoint = Callable[[Query], dict]


class MonitorServer:
    def __init__(self, server: ServerSurface) -> None:
        self._server = server
        self._usage = ProcessUsage()
        self._http = HTTPServer(self.handle)
        self._dashboard = DashboardFiles()
        self._access = MonitorAccess()
        self.http_req_stats: dict[str, int] = {}
        self._endpoints: dict[str, Endpoint] = {
            "/varz": lambda query: build_varz(server, self._usage, self.http_req_stats),
            "/connz": lambda query: build_connz(server, query),
            "/subsz": lambda query: build_subsz(server, query),
            "/routez": lambda query: build_routez(server),
            "/gatewayz": lambda query: build_gatewayz(server),
            "/leafz": lambda query: build_leafz(server, query),
            "/jsz": lambda query: jsz(server, query_options(query)),
        }
        self._aliases = {"/subscriptionsz": "/subsz"}

    async def start(self, host: str | None, port: int) -> None:
        await self._http.start(None if host in ("", "0.0.0.0") else host, port)

    async def stop(self) -> None:
        await self._http.stop()

    async def handle(self, request: Request) -> Response:
        options = self._server.options
        # /healthz stays open for probes (systemd, load balancers): it tells no more than up or down.
        open_path = urlsplit(request.target).path.rstrip("/") == "/healthz"
        if not open_path and not self._access.allows(options.http_user, options.http_password, request.authorization):
            return Response(401, b"Unauthorized\n", _TEXT, [REALM_HEADER])
        if request.method not in _ALLOWED_METHODS:
            return Response(405, b"Method Not Allowed\n", _TEXT, [("Allow", ", ".join(_ALLOWED_METHODS))])
        target = urlsplit(request.target)
        if target.path == "/dashboard" or target.path.startswith("/dashboard/"):
            return self._dashboard_file(target.path, target.query)
        path = target.path.rstrip("/") or "/"
        path = self._aliases.get(path, path)
        if path == "/servicez":
            # Gathered from the services over a short window: the one endpoint that waits.
            self._count(path)
            return Response(200, go_json(await build_servicez(self._server)), "application/json", _JSON_HEADERS)
        if path == "/metrics":
            self._count(path)
            return Response(200, self._metrics(), METRICS_CONTENT_TYPE)
        if path == "/":
            self._count(path)
            return Response(200, build_index(self._server.server_name), "text/html; charset=utf-8")
        if path == "/healthz":
            self._count(path)
            try:
                status, document = healthz_query(self._server, Query(target.query))
            except QueryError as error:
                return Response(400, str(error).encode("utf-8"), _TEXT)
            # nats-server writes /healthz compactly, with its status code.
            return Response(status, go_json(document, pretty=False), "application/json", _JSON_HEADERS)
        endpoint = self._endpoints.get(path)
        if endpoint is None:
            return Response(404, b"404 page not found\n", _TEXT)
        self._count(path)
        self._server.settle_counters()
        try:
            document = endpoint(Query(target.query))
        except QueryError as error:
            return Response(400, str(error).encode("utf-8"), _TEXT)
        return Response(200, go_json(document), "application/json", _JSON_HEADERS)

    def _dashboard_file(self, path: str, query: str) -> Response:
        if path == "/dashboard":
            # The page's relative links (its files, ../varz) need the folder form of its address.
            return Response(301, b"", _TEXT, [("Location", "dashboard/" + (f"?{query}" if query else ""))])
        found = self._dashboard.get(path.removeprefix("/dashboard/"))
        if found is None:
            return Response(404, b"404 page not found\n", _TEXT)
        self._count("/dashboard")
        return Response(200, found[0], found[1], DASHBOARD_HEADERS)

    def _metrics(self) -> bytes:
        """What prometheus-nats-exporter would make of this server's documents (monitor/metrics.py)."""
        self._server.settle_counters()
        endpoints = self._endpoints
        return build_metrics(self._server.server_id, endpoints["/varz"](Query("")),
                             endpoints["/connz"](Query("auth=true")), endpoints["/leafz"](Query("")),
                             endpoints["/jsz"](Query("consumers=true&config=true")))

    def _count(self, path: str) -> None:
        self.http_req_stats[path] = self.http_req_stats.get(path, 0) + 1
