"""Soliciting one remote: dial the hub, run a link, and redial with back-off and jitter when it drops.

Dialler states:
  CONNECTING     TCP connect to the next URL in rotation
  AWAITING_INFO  connected; the link runs its handshake (INFO, [TLS], CONNECT, connect INFO)
  CONNECTED      the link is up
  BACKING_OFF    waiting `reconnect_interval` plus jitter (longer after a loop or refusal)
  STOPPED        the server is shutting down
URLs rotate through the configured ones and those the hub advertised in `leafnode_urls`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from enum import Enum
from typing import TYPE_CHECKING

from edgenats.leafnode.config import RemoteSettings, RemoteURL
from edgenats.leafnode.link import LeafLink, LinkRegistry
from edgenats.pacing import Pacer
from edgenats.tls_runtime import load_ssl

if TYPE_CHECKING:
    import ssl

    from edgenats.surface import ServerSurface

log = logging.getLogger("edgenats")

_DIAL_TIMEOUT = 2.0


class DialerState(Enum):
    CONNECTING = "connecting"
    AWAITING_INFO = "awaiting INFO"
    CONNECTED = "connected"
    BACKING_OFF = "backing off"
    STOPPED = "stopped"


class RemoteDialer:
    def __init__(self, server: ServerSurface, registry: LinkRegistry, remote: RemoteSettings,
                 reconnect_interval: float) -> None:
        self.server = server
        self.registry = registry
        self.remote = remote
        self.pacer = Pacer(remote.drain_rate)
        self.reconnect_interval = reconnect_interval
        self.state = DialerState.BACKING_OFF
        self.link: LeafLink | None = None
        self.urls: list[RemoteURL] = list(remote.urls)
        self.attempts = 0
        self.connects = 0
        self.last_error = ""
        self._next = 0
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = self.server.loop.create_task(self._run())

    def stop(self) -> None:
        self.state = DialerState.STOPPED
        if self._task is not None:
            self._task.cancel()
        if self.link is not None:
            self.link.close("Server Shutdown")

    def link_up(self, link: LeafLink) -> None:
        self.state = DialerState.CONNECTED
        self.connects += 1
        self.attempts = 0

    def learn_urls(self, advertised: list[str]) -> None:
        """Add hub-advertised `host:port` entries to the rotation (same scheme and credentials as ours)."""
        template = self.remote.urls[0]
        for entry in advertised:
            host, _, port = entry.rpartition(":")
            if not port.isdigit() or not host:
                continue
            url = dataclasses.replace(template, host=host.strip("[]"), port=int(port))
            if all((known.host, known.port) != (url.host, url.port) for known in self.urls):
                self.urls.append(url)

    def tls_context(self) -> ssl.SSLContext:
        """The client side of TLS to this remote's hub."""
        tls = self.remote.tls
        ssl = load_ssl()
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if tls is not None:
            if tls.ca_file:
                context.load_verify_locations(tls.ca_file)
            if tls.cert_file:
                context.load_cert_chain(tls.cert_file, tls.key_file)
            if tls.insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        return context

    def _next_url(self) -> RemoteURL:
        url = self.urls[self._next % len(self.urls)]
        self._next += 1
        return url

    async def _run(self) -> None:
        interval = self.reconnect_interval
        while self.state is not DialerState.STOPPED:
            url = self._next_url()
            self.state = DialerState.CONNECTING
            self.attempts += 1
            try:
                link = await asyncio.wait_for(self._dial(url), self._dial_timeout(url))
            except (TimeoutError, OSError) as error:
                self.last_error = str(error) or type(error).__name__
                # Every failed attempt at debug; the first of a series at error, as nats-server does.
                level = logging.ERROR if self.attempts == 1 else logging.DEBUG
                log.log(level, "Error trying to connect as leafnode to remote server %s (attempt %d): %s",
                        url, self.attempts, self.last_error)
                await self._back_off(interval, interval)
                continue
            if self.state is DialerState.STOPPED:
                link.close("Server Shutdown")
                return
            self.link = link
            if self.state is DialerState.CONNECTING:  # (the handshake may be done before this resumes)
                self.state = DialerState.AWAITING_INFO
            reason = await link.done
            self.link = None
            self.last_error = reason
            if self.state is DialerState.STOPPED:
                return
            delay = link.reconnect_delay or interval
            if link.reconnect_delay:
                log.warning("Leafnode remote %s: waiting %.0fs before reconnecting (%s)", url, delay, reason)
            await self._back_off(delay, interval)

    async def _dial(self, url: RemoteURL) -> LeafLink:
        """TCP to a nats-leaf:// or tls:// URL (TLS follows the hub's INFO); a WebSocket for ws:// and wss://."""
        loop = self.server.loop
        if not url.websocket:
            _, link = await loop.create_connection(lambda: LeafLink(self.server, self.registry, self, url),
                                                   url.host, url.port)
            return link
        # Imported only for WebSocket remotes, like the listener.
        from edgenats.websocket.dial import dial

        remote = self.remote
        tls = self.tls_context() if url.tls else None
        server_hostname = (remote.tls.server_name if remote.tls else "") or url.host
        return await dial(loop, url, lambda: LeafLink(self.server, self.registry, self, url), tls, server_hostname,
                          remote.ws_compression, remote.proxy)

    def _dial_timeout(self, url: RemoteURL) -> float:
        """TCP connect; for WebSocket also the upgrade (first_info_timeout, as nats-server) and any proxy."""
        if not url.websocket:
            return _DIAL_TIMEOUT
        proxy = self.remote.proxy
        return _DIAL_TIMEOUT + self.remote.first_info_timeout + (proxy.timeout if proxy and proxy.timeout else 0)

    async def _back_off(self, delay: float, jitter: float) -> None:
        if self.state is DialerState.STOPPED:
            return
        self.state = DialerState.BACKING_OFF
        await asyncio.sleep(delay + random.random() * jitter)

    def status(self) -> dict:
        return {
            "account": self.remote.account,
            "urls": [str(url) for url in self.urls],
            "state": self.state.value,
            "connects": self.connects,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "link": self.link.cid if self.link is not None and self.state is DialerState.CONNECTED else None,
            "drain": self.pacer.progress(),
        }
