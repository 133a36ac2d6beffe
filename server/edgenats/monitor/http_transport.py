"""The monitor's HTTP/1.1 transport: asyncio streams with h11 doing all HTTP framing (keep-alive,
HTTP/1.0 clients, HEAD). It knows nothing about endpoints: each request goes to a handler coroutine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus

import h11

from edgenats.listen_errors import opening

log = logging.getLogger("edgenats")

_READ_SIZE = 16 * 1024
# An idle keep-alive connection is dropped after this long, so forgotten browser tabs cost nothing.
_IDLE_TIMEOUT = 60.0


@dataclass
class Request:
    method: str
    target: str
    # The Authorization header ("" when absent), for a monitor that requires a user and password.
    authorization: str = ""


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[[Request], Awaitable[Response]]


class HTTPServer:
    """Serves `handler` on a TCP port; the handler runs on the event loop: it must stay cheap, or wait
    without blocking (one that gathers answers awaits them)."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._listener: asyncio.base_events.Server | None = None
        self._sessions: set[asyncio.Task] = set()

    async def start(self, host: str | None, port: int) -> None:
        with opening("monitoring", host, port, "-m PORT or `http_port` in the config"):
            self._listener = await asyncio.start_server(self._serve, host, port, reuse_address=True)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
        for task in list(self._sessions):
            task.cancel()
        if self._sessions:
            await asyncio.gather(*self._sessions, return_exceptions=True)
        if self._listener is not None:
            await self._listener.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._sessions.add(task)
        try:
            await self._session(reader, writer)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            self._sessions.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = h11.Connection(h11.SERVER)
        while True:
            try:
                request = await self._next_request(connection, reader)
            except h11.RemoteProtocolError as error:
                if connection.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    await self._send(connection, writer, Response(error.error_status_hint, b"Bad Request\n",
                                                                  "text/plain; charset=utf-8"))
                return
            if request is None:
                return
            try:
                response = await self._handler(request)
            except Exception:
                # A bug in one endpoint must not take the monitor (or the broker's loop) down.
                log.exception("monitor: %s %s failed", request.method, request.target)
                response = Response(500, b"Internal Server Error\n", "text/plain; charset=utf-8")
            if request.method == "HEAD":
                response = Response(response.status, b"", response.content_type, response.headers
                                    + [("Content-Length", str(len(response.body)))])
            await self._send(connection, writer, response)
            if connection.our_state is h11.MUST_CLOSE or connection.their_state is h11.MUST_CLOSE:
                return
            connection.start_next_cycle()

    @staticmethod
    async def _next_request(connection: h11.Connection, reader: asyncio.StreamReader) -> Request | None:
        """Read one whole request (its body is read and ignored); None when the client went away."""
        request: Request | None = None
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                data = await asyncio.wait_for(reader.read(_READ_SIZE), _IDLE_TIMEOUT)
                connection.receive_data(data)
            elif isinstance(event, h11.Request):
                authorization = next((value.decode("latin-1") for name, value in event.headers
                                      if name == b"authorization"), "")
                request = Request(event.method.decode("ascii"), event.target.decode("latin-1"), authorization)
            elif isinstance(event, h11.EndOfMessage):
                return request
            elif isinstance(event, h11.ConnectionClosed):
                return None

    @staticmethod
    async def _send(connection: h11.Connection, writer: asyncio.StreamWriter, response: Response) -> None:
        headers = [
            ("Date", formatdate(usegmt=True)),
            ("Content-Type", response.content_type),
            *response.headers,
        ]
        if not any(name == "Content-Length" for name, _ in headers):
            headers.append(("Content-Length", str(len(response.body))))
        reason = HTTPStatus(response.status).phrase.encode("ascii")
        data = connection.send(h11.Response(status_code=response.status, headers=headers, reason=reason))
        if response.body:
            data += connection.send(h11.Data(data=response.body))
        data += connection.send(h11.EndOfMessage())
        writer.write(data)
        await writer.drain()
