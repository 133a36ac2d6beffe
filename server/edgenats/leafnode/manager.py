"""LeafNodes: everything leaf-related a server has — the remotes it dials, the listener leafs dial,
the live links, per-account interest observers and loop-detection subjects, and the status view.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import platform
import ssl
from typing import TYPE_CHECKING

from edgenats import NATS_COMPAT_VERSION, __version__
from edgenats.auth import AuthenticatedUser, Authenticator
from edgenats.leafnode.config import LeafNodeSettings, RemoteSettings
from edgenats.leafnode.interest import AccountInterest
from edgenats.leafnode.link import LeafLink, LinkState
from edgenats.leafnode.remote import RemoteDialer

if TYPE_CHECKING:
    from edgenats.account import Account
    from edgenats.server import Server

log = logging.getLogger("edgenats")

# nats-server closes a leaf port that accepts more than this many links only through max_connections;
# edgenats bounds leaf links separately so that a flood of leaf dials cannot starve clients.
_MAX_ACCEPTED_LINKS = 1024


def _nuid() -> str:
    return base64.b64encode(os.urandom(18), b"Aa").decode()[:22]


class LeafNodes:
    def __init__(self, server: Server, settings: LeafNodeSettings) -> None:
        self.server = server
        self.settings = settings
        self.links: set[LeafLink] = set()
        self.dialers = [RemoteDialer(self, remote) for remote in settings.remotes]
        self._interests: dict[str, AccountInterest] = {}
        self._loop_subjects: dict[str, str] = {}
        self._listener: asyncio.base_events.Server | None = None
        self._hub_authenticator: Authenticator | None = None
        self.server_tls_context = self._server_tls_context() if settings.tls is not None else None
        self._hub_account = ""
        if settings.authorization is not None:
            block = dict(settings.authorization)
            account = block.pop("account", "")
            self._hub_account = account if isinstance(account, str) else ""
            self._hub_authenticator = Authenticator.from_config(block, server.options.accounts)

    # lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        settings = self.settings
        if settings.listen:
            host = None if settings.host in ("", "0.0.0.0") else settings.host
            self._listener = await self.server.loop.create_server(
                lambda: LeafLink(self), host, settings.port, reuse_address=True,
            )
            log.info("Listening for leafnode connections on %s:%d", settings.host or "0.0.0.0", settings.port)
        for dialer in self.dialers:
            log.info("Leafnode remote: %s (account %s)", dialer.remote.describe(), dialer.remote.account)
            dialer.start()

    def stop(self) -> list[LeafLink]:
        """Stop dialling and listening; close every link. Returns the links, to wait for their writes."""
        if self._listener is not None:
            self._listener.close()
        for dialer in self.dialers:
            dialer.stop()
        links = list(self.links)
        for link in links:
            link.close("Server Shutdown")
        return links

    # links -------------------------------------------------------------------------------------

    def admit(self, link: LeafLink) -> bool:
        return sum(1 for other in self.links if not other.solicited) <= _MAX_ACCEPTED_LINKS

    def attach(self, link: LeafLink) -> None:
        """A link finished its handshake: it now hears about its account's interest changes."""
        self.interest(link.account).attach(link)

    def detach(self, link: LeafLink) -> None:
        self.links.discard(link)
        interest = self._interests.get(link.account.name)
        if interest is not None:
            interest.detach(link)

    def interest(self, account: Account) -> AccountInterest:
        interest = self._interests.get(account.name)
        if interest is None:
            interest = self._interests[account.name] = AccountInterest(account, self.loop_subject(account))
        return interest

    def loop_subject(self, account: Account) -> str:
        """This server's `$LDS.<nuid>` for the account: seeing it come back means a cycle."""
        subject = self._loop_subjects.get(account.name)
        if subject is None:
            subject = self._loop_subjects[account.name] = "$LDS." + _nuid()
        return subject

    def replace_duplicate(self, link: LeafLink) -> None:
        """A leaf that redialled before we noticed its old link died: keep the new link."""
        for other in list(self.links):
            if (other is not link and not other.solicited and other.state is LinkState.CONNECTED
                    and other.name == link.name and other.account is link.account
                    and other.remote_account == link.remote_account):
                log.warning("%s - Duplicate Remote LeafNode Connection, closing the old one", other.describe())
                other.close("Duplicate Remote LeafNode Connection",
                            error_text="Duplicate Remote LeafNode Connection")

    # accepting side ----------------------------------------------------------------------------

    @property
    def hub_auth_required(self) -> bool:
        authenticator = self._hub_authenticator or self.server.authenticator
        return authenticator.auth_required

    @property
    def hub_auth_timeout(self) -> float:
        return (self._hub_authenticator or self.server.authenticator).timeout

    def hub_info(self, link: LeafLink) -> dict:
        server = self.server
        settings = self.settings
        host = settings.host if settings.host not in ("", "0.0.0.0") else "127.0.0.1"
        return {
            "server_id": server.server_id,
            "server_name": server.server_name,
            "version": NATS_COMPAT_VERSION,
            "proto": 1,
            "go": f"python{platform.python_version()} edgenats/{__version__}",
            "host": settings.host or "0.0.0.0",
            "port": settings.port,
            "headers": True,
            "max_payload": server.options.max_payload,
            "client_id": link.cid,
            "leafnode_urls": [f"{host}:{settings.port}"],
            **({"tls_required": True} if self.server_tls_context is not None else {}),
        }

    def authenticate(self, connect: dict, nonce: str) -> AuthenticatedUser | None:
        if self._hub_authenticator is not None:
            user = self._hub_authenticator.authenticate(connect)
            if user is not None and self._hub_account and user.account == "$G":
                user = AuthenticatedUser(user.name, self._hub_account, user.permissions)
            return user
        return self.server.authenticator.authenticate(connect)

    def _server_tls_context(self) -> ssl.SSLContext:
        tls = self.settings.tls
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls.cert_file, tls.key_file)
        if tls.ca_file:
            context.load_verify_locations(tls.ca_file)
        if tls.verify:
            context.verify_mode = ssl.CERT_REQUIRED
        return context

    # soliciting side ---------------------------------------------------------------------------

    def client_tls_context(self, remote: RemoteSettings) -> ssl.SSLContext:
        tls = remote.tls
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

    # status ------------------------------------------------------------------------------------

    def connected_links(self) -> list[LeafLink]:
        """The links past their handshake, in connection-id order: what nats-server counts and lists."""
        return sorted((link for link in self.links if link.state is LinkState.CONNECTED), key=lambda link: link.cid)

    def status(self, subs: bool = False) -> dict:
        """Links and remotes, in the spirit of nats-server's /leafz (`subs`: list the peer's interest)."""
        self.server.settle_counters()
        links = sorted(self.links, key=lambda link: link.cid)
        leafs = []
        for link in links:
            entry = link.status()
            if subs and link.subscriptions:
                entry["subscriptions_list"] = [subject for subject, _ in link.subscriptions]
            leafs.append(entry)
        return {
            "server_id": self.server.server_id,
            "leafnodes": len(self.connected_links()),
            "leafs": leafs,
            "remotes": [dialer.status() for dialer in self.dialers],
        }
