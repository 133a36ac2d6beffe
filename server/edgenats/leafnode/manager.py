"""LeafNodes: everything leaf-related a server has — the remotes it dials, the listener leafs dial,
the registry of live links (what a link tells it: opened, established, closed), per-account interest
observers and loop-detection subjects, and the status view.
"""

from __future__ import annotations

import base64
import logging
import os
from typing import TYPE_CHECKING

from edgenats.leafnode.config import LeafNodeSettings
from edgenats.leafnode.hub import HubHandshake
from edgenats.leafnode.interest import AccountInterest
from edgenats.leafnode.link import LeafLink, LinkState
from edgenats.leafnode.remote import RemoteDialer
from edgenats.listen_errors import describe_address, opening
from edgenats.listener import Listener, bind_listening_socket

if TYPE_CHECKING:
    from edgenats.account import Account
    from edgenats.surface import ServerSurface

log = logging.getLogger("edgenats")

# nats-server closes a leaf port that accepts more than this many links only through max_connections;
# edgenats bounds leaf links separately so that a flood of leaf dials cannot starve clients.
_MAX_ACCEPTED_LINKS = 1024


def _nuid() -> str:
    return base64.b64encode(os.urandom(18), b"Aa").decode()[:22]


class LeafNodes:
    def __init__(self, server: ServerSurface, settings: LeafNodeSettings) -> None:
        self.server = server
        self.settings = settings
        self.links: set[LeafLink] = set()
        self.dialers = [RemoteDialer(server, self, remote, settings.reconnect_interval)
                        for remote in settings.remotes]
        self.hub = HubHandshake(server, settings)
        self._interests: dict[str, AccountInterest] = {}
        self._loop_subjects: dict[str, str] = {}
        self._listener: Listener | None = None

    # lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        settings = self.settings
        if settings.listen:
            host = None if settings.host in ("", "0.0.0.0") else settings.host
            with opening("leafnode connections", settings.host, settings.port, "`port` in the `leafnodes` block"):
                sock = bind_listening_socket(host, settings.port)
            self._listener = Listener(self.server.loop, "Leafnode", sock, self.accept)
            self._listener.start()
            log.info("Listening for leafnode connections on %s", describe_address(settings.host, settings.port))
        for dialer in self.dialers:
            log.info("Leafnode remote: %s (account %s)", dialer.remote.describe(), dialer.remote.account)
            dialer.start()

    def accept(self, websocket: bool = False) -> LeafLink:
        """The link for a leaf dialling in: on the leaf port, or on the websocket port's `/leafnode`."""
        return LeafLink(self.server, self, hub=self.hub, websocket=websocket)

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

    def apply_reload(self, settings: LeafNodeSettings) -> None:
        """A reload that changed only what `LeafNodeSettings.fixed` leaves out: the drain rates."""
        self.settings = settings
        for dialer, remote in zip(self.dialers, settings.remotes, strict=True):
            dialer.remote = remote
            dialer.pacer.set_rate(remote.drain_rate)

    # the registry a link reports to ------------------------------------------------------------

    def opened(self, link: LeafLink) -> bool:
        """A link's socket is up; False refuses an accepted link (too many)."""
        self.links.add(link)
        return link.solicited or sum(1 for other in self.links if not other.solicited) <= _MAX_ACCEPTED_LINKS

    def established(self, link: LeafLink) -> None:
        """A link finished its handshake: it replaces a stale duplicate, and hears its account's interest."""
        if not link.solicited:
            self._replace_duplicate(link)
        else:
            # Before the hub's interest arrives: push consumers delivering through the link find its pacer.
            link.account.pacers[link] = link.dialer.pacer
        self.interest(link.account).attach(link)

    def closed(self, link: LeafLink) -> None:
        self.links.discard(link)
        link.account.pacers.pop(link, None)
        interest = self._interests.get(link.account.name)
        if interest is not None:
            interest.detach(link)

    def loop_subject(self, account: Account) -> str:
        """This server's `$LDS.<nuid>` for the account: seeing it come back means a cycle."""
        subject = self._loop_subjects.get(account.name)
        if subject is None:
            subject = self._loop_subjects[account.name] = "$LDS." + _nuid()
        return subject

    def interest(self, account: Account) -> AccountInterest:
        interest = self._interests.get(account.name)
        if interest is None:
            interest = self._interests[account.name] = AccountInterest(account, self.loop_subject(account))
        return interest

    def _replace_duplicate(self, link: LeafLink) -> None:
        """A leaf that redialled before we noticed its old link died: keep the new link."""
        for other in list(self.links):
            if (other is not link and not other.solicited and other.state is LinkState.CONNECTED
                    and other.name == link.name and other.account is link.account
                    and other.remote_account == link.remote_account):
                log.warning("%s - Duplicate Remote LeafNode Connection, closing the old one", other.describe())
                other.close("Duplicate Remote LeafNode Connection",
                            error_text="Duplicate Remote LeafNode Connection")

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
