"""An edgenats Server running inside the test's own event loop, for behaviour that only the server's
internal API can set up (internal subscribers); clients still reach it over real 127.0.0.1 sockets."""

from __future__ import annotations

import contextlib

from edgenats.options import Options
from edgenats.server import Server
from servers import free_port


@contextlib.asynccontextmanager
async def running_server(**settings):
    """A started Server on 127.0.0.1 and a free port; shut down when the block ends."""
    server = Server(Options(host="127.0.0.1", port=free_port(), **settings))
    await server.start()
    try:
        yield server
    finally:
        await server.shutdown()


def url(server: Server) -> str:
    return f"nats://127.0.0.1:{server.options.port}"
