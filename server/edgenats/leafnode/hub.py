"""The accepting side's part of a leaf handshake: the INFO a hub sends a dialling leaf, whether and how
the leaf must authenticate (the leaf port's own `authorization`, or the server's), and the TLS context
of the leaf port. One per server, shared by every accepted link."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from edgenats import NATS_COMPAT_VERSION, __version__
from edgenats.auth import AuthenticatedUser, Authenticator
from edgenats.leafnode.config import LeafNodeSettings
from edgenats.tls import server_tls_context

if TYPE_CHECKING:
    from edgenats.surface import ServerSurface


class HubHandshake:
    def __init__(self, server: ServerSurface, settings: LeafNodeSettings) -> None:
        self.server = server
        self.settings = settings
        self.tls_context = server_tls_context(settings.tls) if settings.tls is not None else None
        self._authenticator: Authenticator | None = None
        self._account = ""
        if settings.authorization is not None:
            block = dict(settings.authorization)
            account = block.pop("account", "")
            self._account = account if isinstance(account, str) else ""
            self._authenticator = Authenticator.from_config(block, server.options.accounts)

    @property
    def authenticator(self) -> Authenticator:
        # The server's may be replaced by a reload: looked up at use.
        return self._authenticator or self.server.authenticator

    @property
    def auth_required(self) -> bool:
        return self.authenticator.auth_required

    @property
    def auth_timeout(self) -> float:
        return self.authenticator.timeout

    def info(self, cid: int) -> dict:
        """The INFO for the accepted link with connection id `cid`."""
        server = self.server
        settings = self.settings
        jetstream = server.options.jetstream
        host = settings.host if settings.host not in ("", "0.0.0.0") else "127.0.0.1"
        return {
            "server_id": server.server_id,
            "server_name": server.server_name,
            "version": NATS_COMPAT_VERSION,
            "proto": 1,
            "go": f"python{sys.version.split()[0]} edgenats/{__version__}",
            "host": settings.host or "0.0.0.0",
            "port": settings.port,
            "headers": True,
            "max_payload": server.options.max_payload,
            **({"jetstream": True} if jetstream.enabled else {}),
            **({"domain": jetstream.domain} if jetstream.enabled and jetstream.domain else {}),
            "client_id": cid,
            "leafnode_urls": [f"{host}:{settings.port}"],
            **({"tls_required": True} if self.tls_context is not None else {}),
        }

    def authenticate(self, connect: dict, nonce: str) -> AuthenticatedUser | None:
        """The leaf's user; `nonce` is the one its INFO carried (an nkey user signs it)."""
        user = self.authenticator.authenticate(connect, nonce)
        if user is not None and self._account and user.account == "$G":
            user = AuthenticatedUser(user.name, self._account, user.permissions)
        return user
