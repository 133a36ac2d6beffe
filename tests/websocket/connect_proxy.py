"""A small real HTTP CONNECT proxy on 127.0.0.1 for the leaf-over-WebSocket tests: it checks Basic
credentials when given (407 otherwise), opens the tunnel, pipes bytes both ways, and records each
CONNECT target and its answer so a test can see the tunnel was used.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib


class ConnectProxy:
    def __init__(self, username: str = "", password: str = "") -> None:
        self.credentials = base64.b64encode(f"{username}:{password}".encode()).decode() if username else ""
        self.requests: list[tuple[str, int]] = []  # (target, status answered)
        self.answered = asyncio.Event()
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> ConnectProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, target, _ = head[0].split(" ", 2)
            headers = {name.strip().lower(): value.strip()
                       for name, _, value in (line.partition(":") for line in head[1:] if line)}
            if method != "CONNECT":
                await self._answer(writer, target, 405, "Method Not Allowed")
                return
            if self.credentials and headers.get("proxy-authorization") != f"Basic {self.credentials}":
                await self._answer(writer, target, 407, "Proxy Authentication Required")
                return
            host, _, port = target.rpartition(":")
            upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
            await self._answer(writer, target, 200, "Connection established", close=False)
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)

    async def _answer(self, writer: asyncio.StreamWriter, target: str, status: int, reason: str,
                      close: bool = True) -> None:
        self.requests.append((target, status))
        self.answered.set()
        head = f"HTTP/1.1 {status} {reason}\r\n" + ("Content-Length: 0\r\n" if close else "") + "\r\n"
        writer.write(head.encode())
        await writer.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        with contextlib.suppress(ConnectionError):
            writer.close()
