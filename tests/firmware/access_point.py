"""The site's Wi-Fi access point, as a virtual board sees it: the radio side (the `radio-ap` file that the
simulated network module in radio/network.py reads) and the network behind it (a TCP relay on 127.0.0.1
to the broker). The relay listens only while the board's radio has joined the access point's current
session, and the join completes (`radio-routed`) once it listens, so without Wi-Fi the board's connects
are refused, as they fail on a board without a link. Switching the access point off either cuts every
relayed connection, or, `silent`, leaves them open and carries nothing, as when a radio drops out of
range and no FIN or RST ever comes; those are cut when it comes back on (the broker gave up on them)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from pathlib import Path


def _port_socket(port: int = 0) -> socket.socket:
    """A socket on 127.0.0.1:port that shares the port (SO_REUSEPORT) with the relay's listening sockets."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    return sock


class AccessPoint:
    def __init__(self, board_root: Path, ssid: str, password: str, broker_port: int):
        self.root = board_root
        self.ssid, self.password = ssid, password
        self.broker_port = broker_port
        self.session = 0
        self.is_on = False
        self.silent = False
        # Bound, never listening: keeps the relay's port ours while nothing listens on it, so connects to it
        # are refused instead of reaching whatever else might take the port.
        self._holder = _port_socket()
        self.port = self._holder.getsockname()[1]
        self.url = f"nats://127.0.0.1:{self.port}"
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task] = set()
        self._follower: asyncio.Task | None = None

    async def start(self) -> None:
        self._follower = asyncio.create_task(self._follow_radio())

    def on(self) -> None:
        """Beacons again, as a new session: a radio joined to an earlier one has to connect() anew."""
        self.session += 1
        staged = self.root / "radio-ap.new"
        staged.write_text(json.dumps({"ssid": self.ssid, "password": self.password, "session": self.session}))
        os.replace(staged, self.root / "radio-ap")  # the board never reads half a file
        if self.silent:
            self._cut_links()
            self.silent = False
        self.is_on = True

    def off(self, silent: bool = False) -> None:
        self.is_on = False
        (self.root / "radio-ap").unlink(missing_ok=True)
        (self.root / "radio-routed").unlink(missing_ok=True)
        self._stop_listening()
        self.silent = silent
        if not silent:
            self._cut_links()

    def _cut_links(self) -> None:
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()

    def connects(self) -> list[str]:
        """Every connect(ssid, password) the board's radio was asked for, oldest first."""
        path = self.root / "radio-connects"
        return path.read_text().splitlines() if path.exists() else []

    def _joining(self) -> bool:
        link = self.root / "radio-link"
        return self.is_on and link.exists() and link.read_text() == str(self.session)

    async def _follow_radio(self) -> None:
        """Listens while the radio has joined, then tells the radio its join is complete; stops listening when
        the radio leaves."""
        while True:
            if self._joining() and self._server is None:
                self._server = await asyncio.start_server(self._accept, sock=_port_socket(self.port))
                (self.root / "radio-routed").write_text(str(self.session))
            elif not self._joining():
                self._stop_listening()
            await asyncio.sleep(0.05)

    def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _accept(self, board_r: asyncio.StreamReader, board_w: asyncio.StreamWriter) -> None:
        try:
            broker_r, broker_w = await asyncio.open_connection("127.0.0.1", self.broker_port)
        except OSError:
            board_w.transport.abort()
            return
        self._links |= {board_w, broker_w}
        for src, dst in ((board_r, broker_w), (broker_r, board_w)):
            task = asyncio.create_task(self._pump(src, dst, (board_w, broker_w)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, pair) -> None:
        try:
            while data := await src.read(65536):
                if not self.silent:
                    dst.write(data)
                    await dst.drain()
        except OSError:
            pass
        finally:  # one side ended: end the other too, as the broker and the board would see it
            for writer in pair:
                writer.transport.abort()
                self._links.discard(writer)

    async def stop(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            await asyncio.gather(self._follower, return_exceptions=True)
        self.off()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._holder.close()
