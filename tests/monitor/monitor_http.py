"""Helpers for the monitoring tests: a tiny HTTP client (http.client for ordinary keep-alive use, a
raw socket for what curl or an old tool sends) and starting a server with its monitor port.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from servers import RunningServer, free_port, wait_for_port

_ATTEMPTS = 3


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class Monitor:
    def __init__(self, port: int) -> None:
        self.port = port

    def request(self, path: str, method: str = "GET") -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request(method, path)
            response = connection.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

    def get(self, path: str) -> dict:
        reply = self.request(path)
        assert reply.status == 200, (path, reply.status, reply.body)
        return reply.json()

    def wait_for(self, path: str, condition: Callable[[dict], bool], timeout: float = 5.0) -> dict:
        """Poll until `condition` holds: closing a connection and counting it is asynchronous."""
        deadline = time.monotonic() + timeout
        while True:
            document = self.get(path)
            if condition(document) or time.monotonic() > deadline:
                return document
            time.sleep(0.05)

    async def settled(self, path: str, condition: Callable[[dict], bool], timeout: float = 5.0) -> dict:
        """`wait_for` without blocking the caller's event loop, whose nats-py clients must keep writing.

        nats-py's flush() writes its PING ahead of commands still queued in the client, so a PONG
        does not prove the server has seen an earlier SUB or PUB; the server's own counts do.
        """
        deadline = time.monotonic() + timeout
        while True:
            document = await asyncio.to_thread(self.get, path)
            if condition(document) or time.monotonic() > deadline:
                return document
            await asyncio.sleep(0.02)

    def raw(self, request: bytes) -> bytes:
        """Send `request` bytes as they are and read until the server closes the connection."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(request)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


def split_response(data: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status_line, headers, body


@dataclass
class Monitored:
    server: RunningServer
    monitor: Monitor


def start_monitored(server_factory, kind: str, config: str | None = None) -> Monitored:
    """Start a server with `-m <free port>` and make sure that port answers for *this* server.

    A free port can be taken by another process between choosing it and binding it (tests of other
    areas run in parallel); then this server fails to start its monitor, or the port answers for
    someone else. Either way a fresh port is tried instead of failing with a confusing mismatch.
    """
    for attempt in range(_ATTEMPTS):
        http_port = free_port()
        running = server_factory(kind, config=config, extra_args=["-m", str(http_port)])
        monitor = Monitor(http_port)
        try:
            # The client port can accept before the monitor port is bound (edgenats binds it second).
            wait_for_port(http_port, running.process, running.log_path)
            if monitor.get("/varz")["port"] == running.port:
                break
        except (RuntimeError, OSError, AssertionError):
            if attempt == _ATTEMPTS - 1:
                raise
        running.stop()
    else:
        raise RuntimeError(f"monitor port of the {kind} server kept answering for another server")
    # The readiness probe on the client port is itself a connection; counts start once it is gone
    # (a leaf link, listed too, may stay).
    monitor.wait_for("/connz", lambda connz: all(c["kind"] != "Client" for c in connz["connections"]))
    return Monitored(running, monitor)
