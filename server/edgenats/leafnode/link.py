"""One leaf link (either role): the handshake state machine, LS+/LS- interest in both directions,
LMSG/HMSG delivery, loop detection and the link's view of what it advertised ("smap").

Link states:
  AWAITING_INFO          soliciting: dialled, waiting for the hub's INFO (first_info_timeout)
  AWAITING_CONNECT_INFO  soliciting: CONNECT sent, waiting for the hub's connect_info INFO
  AWAITING_CONNECT       accepting: INFO sent, waiting for the leaf's CONNECT (auth timeout)
  CONNECTED              interest and messages flow
  CLOSED
Interest a link receives becomes Subscriptions (target = the link) in the bound account's trie, so
local publishers reach it through the ordinary delivery plan. A link reports to a `LinkRegistry`
(opened, established, closed; the account's loop-detection subject); an accepted link also gets the
hub's `HubHandshake`, a solicited one its `LinkDialer` (a RemoteDialer).

A peer that stops reading is a slow consumer, not a dead one: as in nats-server, a passed write
deadline (`leafnodes { write_deadline }`, else the server's) keeps the link under the default
`write_timeout: retry` while bytes still move, and the output waiting meanwhile is bounded by
`leafnodes { max_pending }` (backlog.py) instead of cutting the link off.
"""

from __future__ import annotations

import asyncio
import json
import logging
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from edgenats import NATS_COMPAT_VERSION
from edgenats.auth import Permissions, new_nonce
from edgenats.connection import Connection, WriteState, WriteTimeout
from edgenats.leafnode.backlog import Backlog, BacklogState
from edgenats.leafnode.credentials import CredentialsError, connect_credentials
from edgenats.leafnode.jetstream_domains import JetStreamIsolation, isolation
from edgenats.protocol.errors import ProtocolViolation
from edgenats.protocol.framing import PONG, error_line, go_quote, info_line
from edgenats.protocol.leaf_parser import LeafProtocolParser
from edgenats.subjects import is_valid_subscription_subject
from edgenats.sublist import Subscription

if TYPE_CHECKING:
    import ssl

    from edgenats.account import Account
    from edgenats.leafnode.config import RemoteSettings, RemoteURL
    from edgenats.leafnode.hub import HubHandshake
    from edgenats.pacing import Pacer
    from edgenats.surface import ServerSurface

log = logging.getLogger("edgenats")

CONNECT_INFO_TIMEOUT = 2.0
TLS_HANDSHAKE_TIMEOUT = 2.0
LOOP_DELAY = 30.0
# Texts of a hub's -ERR that tell a soliciting leaf how long to wait before redialling.
_ERROR_DELAYS = (
    ("Loop detected", LOOP_DELAY),
    ("Permissions Violation", 30.0),
    ("remote leafnode has same cluster name", 30.0),
    ("minimum version required", 5.0),
)
# Interest exempt from permission checks: loop detection and gateway reply mapping.
_PERMISSION_EXEMPT = ("$LDS.", "_GR_.", "$GNR.")
_EXEMPT_REPLIES = (b"_R_.", b"$JS.ACK.")


class LinkState(Enum):
    AWAITING_INFO = "awaiting INFO"
    AWAITING_CONNECT_INFO = "awaiting connect INFO"
    AWAITING_CONNECT = "awaiting CONNECT"
    CONNECTED = "connected"
    CLOSED = "closed"


class LinkRegistry(Protocol):
    """Where a link reports its life; it answers the one question links share (the loop subject)."""

    def opened(self, link: LeafLink) -> bool:
        """The socket is up; False refuses an accepted link."""

    def established(self, link: LeafLink) -> None: ...

    def closed(self, link: LeafLink) -> None: ...

    def loop_subject(self, account: Account) -> str: ...


class LinkDialer(Protocol):
    """What a solicited link asks of the dialler that made it."""

    remote: RemoteSettings
    pacer: Pacer  # the remote's JetStream deliveries: their pace and drain progress

    def tls_context(self) -> ssl.SSLContext: ...

    def learn_urls(self, advertised: list[str]) -> None:
        """Hub-advertised `host:port` entries join the rotation."""

    def link_up(self, link: LeafLink) -> None: ...


class LinkUser:
    """What the delivery plan asks of a target's user: its filter for messages sent over this link."""

    __slots__ = ("name", "permissions")
    # A link's user never comes from a user JWT (what /connz and the closed record read of a client's).
    jwt = None

    def __init__(self, name: str, permissions) -> None:
        self.name = name
        self.permissions = permissions


class LinkFilter:
    """`may_deliver` for a link: the peer's import/export lists and its `deny_pub` subjects."""

    def __init__(self, allowed: Permissions | None, denied: tuple[str, ...]) -> None:
        self._allowed = allowed
        self._denied_subjects = tuple(denied)
        self._denied = Permissions(publish_deny=denied) if denied else None

    def deny(self, subjects: tuple[str, ...]) -> None:
        """Never send these either (the link's JetStream isolation)."""
        if subjects:
            self._denied_subjects += subjects
            self._denied = Permissions(publish_deny=self._denied_subjects)

    def may_deliver(self, subject: str, queue: str | None = None) -> bool:
        if self._allowed is not None and not self._allowed.can_publish(subject):
            return False
        return self._denied is None or self._denied.can_publish(subject)


def _permission_lists(value) -> tuple[list[str] | None, list[str]]:
    if not isinstance(value, dict):
        return None, []
    allow = value.get("allow")
    deny = value.get("deny")
    return (list(allow) if isinstance(allow, list) else None), (list(deny) if isinstance(deny, list) else [])


class LeafLink(Connection):
    kind = "Leafnode"
    leaf_link = True
    # Links never hold `allow_responses` grants; the delivery plan asks every target.
    reply_allowance = None

    def __init__(self, server: ServerSurface, registry: LinkRegistry, dialer: LinkDialer | None = None,
                 url: RemoteURL | None = None, hub: HubHandshake | None = None, websocket: bool = False) -> None:
        """Solicited with `dialer` and `url`; accepted with `hub` (and `websocket` on the websocket port)."""
        super().__init__(server)
        options = server.options
        self.registry = registry
        self.hub = hub
        self.dialer = dialer
        self.remote: RemoteSettings | None = dialer.remote if dialer else None
        self.url = url
        self.solicited = dialer is not None
        # Over WebSocket, TLS is the WebSocket's own (wss): the INFO's tls_required is not acted on, as nats-server.
        self.websocket = websocket or bool(url and url.websocket)
        self.parser = LeafProtocolParser(self, options.max_control_line, options.max_payload)
        self.state = LinkState.AWAITING_INFO if self.solicited else LinkState.AWAITING_CONNECT
        self.account: Account = server.account(self.remote.account if self.remote else "$G")
        # True when we are the hub on this link: we then advertise every interest of the account.
        self.we_are_hub = bool(self.remote and self.remote.hub)
        self.headers = True
        self.user: LinkUser | None = None
        self.user_name = ""
        self.name = ""
        self.remote_account = ""
        self.peer_cluster = ""
        self.peer_version = ""
        # The JetStream domain the peer runs in (its INFO or CONNECT), and what the link keeps apart.
        self.peer_domain = ""
        self.isolation = JetStreamIsolation((), (), False)
        self.nonce = ""
        # Interest the peer sent us, as subscriptions in our trie.
        self.subscriptions: dict[tuple[str, str | None], Subscription] = {}
        # What we advertised to the peer: (subject, queue) -> count (member weight for queues).
        self.smap: dict[tuple[str, str | None], int] = {}
        # Only literal subjects permitted here may be advertised (the hub's `import`); None = any.
        self.import_permissions: Permissions | None = None
        # What the peer may publish to us (accepting side: the user's publish permissions).
        self.export_permissions: Permissions | None = None
        self.reconnect_delay = 0.0
        self.established_at = 0.0
        self.done: asyncio.Future = server.loop.create_future()
        self._handshake_timer: asyncio.TimerHandle | None = None
        self._tls_upgrading = False
        self.backlog = Backlog()

    # lifecycle ---------------------------------------------------------------------------------

    def on_open(self) -> None:
        loop = self.server.loop
        admitted = self.registry.opened(self)
        if self.solicited:
            timeout = self.remote.first_info_timeout
            self._handshake_timer = loop.call_later(timeout, self._handshake_timeout, "Leafnode First INFO Timeout")
            log.debug("%s - Leafnode connection opened to %s", self.describe(), self.url)
            return
        if not admitted:
            self.close("Maximum Connections Exceeded", error_text="maximum connections exceeded")
            return
        self.parser.connect_required = True
        hub = self.hub
        info = hub.info(self.cid)
        if hub.auth_required:
            self.nonce = new_nonce()
            info["auth_required"] = True
            info["nonce"] = self.nonce
        self.send(info_line(info))
        self._handshake_timer = loop.call_later(hub.auth_timeout, self._handshake_timeout,
                                                "Authentication Timeout")
        if info.get("tls_required") and not self.websocket:
            self._start_tls(lambda: None)
        log.debug("%s - Leafnode connection created", self.describe())

    def on_close(self) -> None:
        was_connected = self.state is LinkState.CONNECTED
        self.state = LinkState.CLOSED
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
        self.registry.closed(self)
        sublist = self.account.sublist
        for subscription in self.subscriptions.values():
            sublist.remove(subscription)
        self.subscriptions.clear()
        self.smap.clear()
        if was_connected:
            # Removing the subscriptions settled the plans that counted for this link in bulk.
            self.server.record_closed(self)
            log.info("%s - Leafnode connection closed: %s - Account: %s", self.describe(), self.close_reason,
                     self.account.name)
            self.server.system.client_disconnected(self)
        else:
            log.debug("%s - Leafnode connection closed before it was up: %s", self.describe(), self.close_reason)
        if not self.done.done():
            self.done.set_result(self.close_reason)

    def connection_lost(self, exc: Exception | None) -> None:
        # A failed TLS upgrade reports the lost plain transport; _upgrade_tls closes the link itself.
        if self._tls_upgrading:
            return
        super().connection_lost(exc)

    def _handshake_timeout(self, reason: str) -> None:
        self._handshake_timer = None
        if self.state is LinkState.CONNECTED or self.closed:
            return
        log.error("%s - %s", self.describe(), reason)
        if reason == "Authentication Timeout":
            self.close(reason, error_text=reason)
        elif self.state is LinkState.AWAITING_CONNECT_INFO:
            self.close("Stale Leaf Node Connection", error_text="Stale Leaf Node Connection - Closing")
        else:
            self.close(reason)

    def describe(self) -> str:
        name = f' - "{self.name}"' if self.name else ""
        return f"{self.host}:{self.port} - lid:{self.cid}{name}"

    # a peer that does not read ----------------------------------------------------------------

    def write_timeout(self) -> tuple[float, WriteTimeout]:
        settings = self.server.options.leafnodes
        return settings.write_deadline or self.server.options.write_deadline, settings.write_timeout

    def count_slow_consumer(self) -> None:
        super().count_slow_consumer()
        self.server.leaf_slow_consumers += 1

    def _check_pending(self) -> None:
        """No cut-off for pending bytes: `outbound` keeps them within `leafnodes.max_pending`."""

    def outbound(self, data: bytes) -> bytes:
        limit = self.server.options.leafnodes.max_pending
        backlog = self.backlog
        before = backlog.state
        dropped_msgs, dropped_bytes = backlog.dropped_msgs, backlog.dropped_bytes
        kept = backlog.admit(data, self.transport.get_write_buffer_size(), limit,
                             self.write_state is not WriteState.FLOWING)
        self._backlog_changed(before)
        # Dropped messages were counted as sent when they were queued.
        self.out_msgs -= backlog.dropped_msgs - dropped_msgs
        self.out_bytes -= backlog.dropped_bytes - dropped_bytes
        return kept

    def resume_writing(self) -> None:
        super().resume_writing()
        before = self.backlog.state
        self.backlog.recover()
        self._backlog_changed(before)

    def _backlog_changed(self, before: BacklogState) -> None:
        backlog = self.backlog
        if backlog.state is before:
            return
        limit = self.server.options.leafnodes.max_pending
        if backlog.state is BacklogState.DROPPING:
            self.count_slow_consumer()
            log.info("%s - Slow Consumer Detected: MaxPending of %d Exceeded, dropping messages", self.describe(),
                     limit)
        else:
            log.info("%s - Slow Consumer Recovered: %d messages dropped over MaxPending of %d", self.describe(),
                     backlog.episode_msgs, limit)

    def protocol_violation(self, violation: ProtocolViolation) -> None:
        log.error("%s - Leafnode protocol error: %s", self.describe(), violation)
        self.close(violation.reason, error_text=violation.wire_text)

    # soliciting handshake ----------------------------------------------------------------------

    def on_info(self, info: dict) -> None:
        if not self.solicited:
            return
        if self.state is LinkState.AWAITING_INFO:
            self._first_info(info)
        elif self.state is LinkState.AWAITING_CONNECT_INFO and info.get("connect_info"):
            self._connect_info(info)
        else:
            self._async_info(info)

    def _first_info(self, info: dict) -> None:
        if "leafnode_urls" not in info and "client_ip" in info:
            log.error("%s - Leafnode connection closed: Incorrect Port (%s is a client port)", self.describe(),
                      self.url)
            self.close("Incorrect Port")
            return
        self.peer_version = str(info.get("version") or "")
        self.peer_domain = str(info.get("domain") or "")
        self.name = str(info.get("server_name") or info.get("server_id") or "")
        self._learn_urls(info)
        wants_tls = (bool(info.get("tls_required")) and not self.websocket) or self.url.tls
        if wants_tls and self.transport.get_extra_info("sslcontext") is None:
            self._start_tls(lambda: self._send_connect(info))
            return
        self._send_connect(info)

    def _start_tls(self, then) -> None:
        """Switch this link to TLS (client side when soliciting, server side when accepting), then `then()`."""
        self._tls_upgrading = True
        self.parser.pause()
        self.server.loop.create_task(self._upgrade_tls(then))

    async def _upgrade_tls(self, then) -> None:
        try:
            if self.solicited:
                context = self.dialer.tls_context()
                server_hostname = (self.remote.tls.server_name if self.remote.tls else "") or self.url.host
                timeout = self.remote.tls.timeout if self.remote.tls else TLS_HANDSHAKE_TIMEOUT
            else:
                context = self.hub.tls_context
                server_hostname = None
                timeout = self.hub.settings.tls.timeout
            # Output queued before the switch (the accepting side's INFO) must leave in plain text.
            self.flush()
            transport = await asyncio.wait_for(
                self.server.loop.start_tls(self.transport, self, context, server_side=not self.solicited,
                                           server_hostname=server_hostname),
                timeout=timeout,
            )
        except (TimeoutError, OSError, ValueError) as error:  # ssl.SSLError is an OSError
            self._tls_upgrading = False
            log.error("%s - TLS handshake error: %s", self.describe(), error or type(error).__name__)
            self.abort("TLS Handshake Error")
            return
        self._tls_upgrading = False
        if self.closed:
            transport.close()
            return
        self.transport = transport
        try:
            # Input that arrived during the handshake (a leaf's CONNECT) is parsed now.
            self.parser.resume()
        except ProtocolViolation as violation:
            self.protocol_violation(violation)
            return
        if not self.closed:
            then()

    def _send_connect(self, info: dict) -> None:
        server = self.server
        connect = {
            "version": NATS_COMPAT_VERSION,
            "server_id": server.server_id,
            **({"domain": self._local_domain()} if self._local_domain() else {}),
            "name": server.server_name,
            "headers": True,
            **({"jetstream": True} if self._jetstream_here() else {}),
            "remote_account": self.account.name,
            "protocol": 1,
        }
        try:
            connect.update(connect_credentials(self.remote, self.url, str(info.get("nonce") or "")))
        except CredentialsError as error:
            log.error("%s - %s", self.describe(), error)
            self.close("Credentials Error")
            return
        if self.remote.hub:
            connect["is_hub"] = True
        if self.remote.deny_imports:
            connect["deny_pub"] = list(self.remote.deny_imports)
        self.send(b"CONNECT " + _json(connect) + b"\r\n")
        if info.get("info_on_connect"):
            self.state = LinkState.AWAITING_CONNECT_INFO
            self._handshake_timer.cancel()
            self._handshake_timer = server.loop.call_later(CONNECT_INFO_TIMEOUT, self._handshake_timeout,
                                                           "Stale Leaf Node Connection")
        else:
            self._established()

    def _connect_info(self, info: dict) -> None:
        self.remote_account = str(info.get("remote_account") or "")
        import_allow, import_deny = _permission_lists(info.get("import"))
        export_allow, export_deny = _permission_lists(info.get("export"))
        if import_allow is not None or import_deny:
            self.import_permissions = Permissions(publish_allow=import_allow, publish_deny=import_deny)
        if export_allow is not None or export_deny or self.remote.deny_exports:
            allowed = Permissions(publish_allow=export_allow, publish_deny=export_deny)
            self.user = LinkUser("", LinkFilter(allowed, self.remote.deny_exports))
        self._learn_urls(info)
        self._established()

    def _async_info(self, info: dict) -> None:
        self._learn_urls(info)

    def _learn_urls(self, info: dict) -> None:
        # A WebSocket remote learns the hub's WebSocket URLs, as nats-server's do.
        urls = info.get("ws_connect_urls" if self.websocket else "leafnode_urls")
        if self.dialer is not None and isinstance(urls, list):
            self.dialer.learn_urls([url for url in urls if isinstance(url, str)])

    # accepting handshake -----------------------------------------------------------------------

    def on_connect(self, options: dict) -> None:
        if self.solicited or self.state is not LinkState.AWAITING_CONNECT:
            self.close("Protocol Violation")
            return
        rejection = _rejection(options)
        if rejection is not None:
            log.error("%s - %s", self.describe(), rejection)
            self.close("Protocol Violation", error_text=rejection)
            return
        user = self.hub.authenticate(options, self.nonce)
        if user is None:
            log.error("%s - authentication error", self.describe())
            self.close("Authentication Failure", error_text="Authorization Violation")
            return
        self.user_name = user.name
        self.name = _string(options.get("name"))
        self.peer_cluster = _string(options.get("cluster"))
        self.peer_version = _string(options.get("version"))
        self.peer_domain = _string(options.get("domain"))
        self.remote_account = _string(options.get("remote_account"))
        self.headers = options.get("headers") is True
        self.we_are_hub = options.get("is_hub") is not True
        self.account = self.server.account(user.account)
        self.parser.connect_required = False
        permissions = user.permissions
        deny_pub = tuple(s for s in options.get("deny_pub") or () if isinstance(s, str))
        import_filter = None
        if permissions is not None:
            self.export_permissions = Permissions(publish_allow=permissions.publish_allow,
                                                  publish_deny=permissions.publish_deny)
            allow = [rule.subject for rule in permissions.subscribe_allow or () if rule.queue is None] or None
            deny = [rule.subject for rule in permissions.subscribe_deny if rule.queue is None]
            if allow is not None or deny:
                self.import_permissions = Permissions(publish_allow=allow, publish_deny=deny)
                import_filter = self.import_permissions
        if import_filter is not None or deny_pub:
            self.user = LinkUser(user.name, LinkFilter(import_filter, deny_pub))
        info = self.hub.info(self.cid)
        info["connect_info"] = True
        info["remote_account"] = self.account.name
        if self.import_permissions is not None:
            info["import"] = _permission_json(self.import_permissions)
        if self.export_permissions is not None and not _unrestricted(self.export_permissions):
            info["export"] = _permission_json(self.export_permissions)
        self.send(info_line(info))
        self._established()

    def on_unexpected_first_operation(self) -> None:
        log.error("%s - Leafnode sent an operation before CONNECT", self.describe())
        self.close("Authentication Failure", error_text="Authorization Violation")

    # both roles --------------------------------------------------------------------------------

    def _established(self) -> None:
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
            self._handshake_timer = None
        self.state = LinkState.CONNECTED
        self.established_at = self.server.loop.time()
        self._isolate_jetstream()
        if self.user is not None:
            # Plans cached before the filters were known would send what the peer refuses.
            self.account.sublist.clear_cache()
        self.registry.established(self)
        self._send_interest_burst()
        self.start_keepalive()
        log.info("%s - Leafnode connection created%s for account: %s", self.describe(),
                 f" to {self.url}" if self.url else "", self.account.name)
        if self.dialer is not None:
            self.dialer.link_up(self)
        self.server.system.client_connected(self)

    def _local_domain(self) -> str:
        settings = self.server.options.jetstream
        return settings.domain if settings.enabled else ""

    def _jetstream_here(self) -> bool:
        """Whether JetStream runs in the link's account."""
        jetstream = self.server.jetstream
        return jetstream is not None and self.account.name in jetstream.accounts

    def _isolate_jetstream(self) -> None:
        """nats-server's JetStream deny rules for this link (leafnode/jetstream_domains.py)."""
        system = self.account is self.server.system_account
        local_domain = self._local_domain()
        self.isolation = isolation(system, self._jetstream_here(), local_domain, self.peer_domain)
        if self.isolation.apart and not system:
            log.info('%s - JetStream using domains: local "%s", remote "%s"', self.describe(), local_domain,
                     self.peer_domain)
        denied = self.isolation.denied + self.isolation.outgoing
        if self.user is None:
            if denied:
                self.user = LinkUser(self.user_name, LinkFilter(None, denied))
        else:
            self.user.permissions.deny(denied)

    def _send_interest_burst(self) -> None:
        counts: dict[tuple[str, str | None], int] = {}
        for subscription in self.account.sublist.subscriptions():
            origin = subscription.target
            if origin is self or not self.advertises_interest_of(origin):
                continue
            key = (subscription.subject, subscription.queue)
            counts[key] = counts.get(key, 0) + subscription.weight
        lines = [b"LS+ %s\r\n" % self.registry.loop_subject(self.account).encode()]
        for key, count in counts.items():
            if count <= 0:
                continue
            self.smap[key] = count
            if self._may_advertise(key[0]):
                lines.append(_sub_line(key, count))
        self.send(b"".join(lines))

    def advertises_interest_of(self, origin) -> bool:
        """A spoke tells its hub only about local clients and its own leafs; a hub tells everything."""
        if not getattr(origin, "leaf_link", False):
            return True
        return self.we_are_hub or origin.we_are_hub

    def _may_advertise(self, subject: str) -> bool:
        if self.isolation.refuses_interest(subject):
            return False
        permissions = self.import_permissions
        if permissions is None or subject.startswith(_PERMISSION_EXEMPT):
            return True
        if "*" in subject.split(".") or ">" in subject.split("."):
            return True
        return permissions.can_publish(subject)

    def interest_changed(self, subject: str, queue: str | None, delta: int) -> None:
        """A change of `delta` members to a key this link advertises (called by the account's observer)."""
        key = (subject, queue)
        smap = self.smap
        old = smap.get(key, 0)
        new = old + delta
        if new <= 0:
            if old <= 0:
                return
            del smap[key]
            if self._may_advertise(subject):
                self.send(b"LS- %s %s\r\n" % (subject.encode(), queue.encode()) if queue is not None
                          else b"LS- %s\r\n" % subject.encode())
            return
        smap[key] = new
        if (queue is not None and new != old) or old == 0:
            if self._may_advertise(subject):
                self.send(_sub_line(key, new))

    def on_leaf_sub(self, subject: bytes, queue: bytes | None, weight: int) -> None:
        if self.state is not LinkState.CONNECTED:
            return
        subject_text = subject.decode("latin-1")
        queue_text = queue.decode("latin-1") if queue is not None else None
        if not is_valid_subscription_subject(subject_text):
            self.send(error_line("Invalid Subscription"))
            return
        if subject_text == self.registry.loop_subject(self.account):
            self._loop_detected()
            return
        permissions = self.import_permissions
        literal = "*" not in subject_text.split(".") and ">" not in subject_text.split(".")
        if literal and self.isolation.refuses_message(subject_text) and self.solicited:
            return  # the hub told us what we may have; nats-server's spoke ignores the rest
        if (not self.solicited and not subject_text.startswith(_PERMISSION_EXEMPT) and literal
                and ((permissions is not None and not permissions.can_publish(subject_text))
                     or self.isolation.refuses_message(subject_text))):
            text = f"Permissions Violation for Subscription to {go_quote(subject_text)}"
            log.error("%s - %s", self.describe(), text)
            self.close("Permissions Violation", error_text=text)
            return
        key = (subject_text, queue_text)
        existing = self.subscriptions.get(key)
        sublist = self.account.sublist
        if existing is None:
            subscription = Subscription(self, subject_text, queue_text, b"", weight=weight if queue else 1)
            self.subscriptions[key] = subscription
            sublist.insert(subscription)
        elif queue is not None and existing.weight != weight:
            delta = weight - existing.weight
            existing.weight = weight
            if sublist.observer is not None:
                sublist.observer(existing, delta)

    def on_leaf_unsub(self, subject: bytes, queue: bytes | None) -> None:
        if self.state is not LinkState.CONNECTED:
            return
        key = (subject.decode("latin-1"), queue.decode("latin-1") if queue is not None else None)
        subscription = self.subscriptions.pop(key, None)
        if subscription is not None:
            self.account.sublist.remove(subscription)

    def on_leaf_msg(
        self, subject: bytes, reply: bytes | None, queues: list[bytes] | None, header_size: int, size: int,
        payload_crlf: memoryview,
    ) -> None:
        if self.state is not LinkState.CONNECTED:
            return
        self.in_msgs += 1
        self.in_bytes += size
        # Replies to service imports and JetStream acks are exempt, as in nats-server.
        if self.solicited:
            # A spoke drops what its hub should not have sent (JetStream isolation: `$` subjects only).
            if (subject[:1] == b"$" and self.isolation.denied and not subject.startswith(_EXEMPT_REPLIES)
                    and self.isolation.refuses_interest(subject.decode("latin-1"))):
                return
        elif self.export_permissions is not None and not subject.startswith(_EXEMPT_REPLIES):
            # A hub holds the leaf to its user's publish permissions (the JetStream denies are for
            # what the hub sends: the leaf's requests to the hub's domain API pass).
            subject_text = subject.decode("latin-1")
            if not self.export_permissions.can_publish(subject_text):
                text = f"Permissions Violation for Publish to {go_quote(subject_text)}"
                log.error("%s - %s", self.describe(), text)
                self.close("Permissions Violation", error_text=text)
                return
        self.account.publish_from_link(self, subject, reply, queues, header_size, size, payload_crlf)

    def on_ping(self) -> None:
        self.send(PONG)

    def on_pong(self) -> None:
        self.pong_received()

    def on_peer_error(self, text: str) -> None:
        log.error("%s - Leafnode peer reported: %s", self.describe(), text)
        if not self.solicited:
            return
        for marker, delay in _ERROR_DELAYS:
            if marker in text:
                self.reconnect_delay = delay

    def _loop_detected(self) -> None:
        text = f'Loop detected for leafnode account="{self.account.name}". Delaying attempt to reconnect for 30s'
        log.error("%s - %s", self.describe(), text)
        if self.solicited:
            self.reconnect_delay = LOOP_DELAY
        self.close("Loop Detected", error_text=text)

    # delivery ----------------------------------------------------------------------------------

    def deliver_queued(
        self, subject: bytes, reply: bytes | None, queues: list[bytes], header_size: int, size: int,
        payload_crlf: memoryview,
    ) -> None:
        """One LMSG/HMSG naming the queue groups this link was picked for (and serving plain interest)."""
        if queues:
            names = b" ".join(queues)
            middle = b"+ %s %s " % (reply, names) if reply else b"| %s " % names
        else:
            middle = reply + b" " if reply else b""
        if header_size < 0:
            line = b"LMSG %s %s%d\r\n" % (subject, middle, size)
        elif self.headers:
            line = b"HMSG %s %s%d %d\r\n" % (subject, middle, header_size, size)
        else:
            line = b"LMSG %s %s%d\r\n" % (subject, middle, size - header_size)
            payload_crlf = payload_crlf[header_size:]
        out = self.out
        if not out:
            self.server.mark_dirty(self)
        out += (line, payload_crlf)
        self.out_msgs += 1
        self.out_bytes += size

    def remove_subscription(self, subscription: Subscription) -> None:
        """Links never auto-unsubscribe; present because every subscriber target offers it."""
        if self.subscriptions.pop((subscription.subject, subscription.queue), None) is not None:
            self.account.sublist.remove(subscription)

    def status(self) -> dict:
        """This link as monitoring shows it (the shape of nats-server's /leafz entries)."""
        loop_time = self.server.loop.time()
        return {
            "id": self.cid,
            "name": self.name,
            "is_spoke": not self.we_are_hub,
            "solicited": self.solicited,
            "state": self.state.value,
            "account": self.account.name,
            "remote_account": self.remote_account,
            "cluster": self.peer_cluster,
            "version": self.peer_version,
            "ip": self.host,
            "port": self.port,
            "url": str(self.url) if self.url else "",
            "rtt": self.rtt,
            "uptime_seconds": round(loop_time - self.established_at, 3) if self.established_at else 0,
            "in_msgs": self.in_msgs,
            "out_msgs": self.out_msgs,
            "in_bytes": self.in_bytes,
            "out_bytes": self.out_bytes,
            "subscriptions": len(self.subscriptions),
            "advertised": len(self.smap),
            "compression": "off",
            "pending_bytes": self.transport.get_write_buffer_size() if self.transport is not None else 0,
            "dropped_msgs": self.backlog.dropped_msgs,
            "dropped_bytes": self.backlog.dropped_bytes,
            **({"drain": self.dialer.pacer.progress()} if self.dialer is not None else {}),
        }


def _sub_line(key: tuple[str, str | None], count: int) -> bytes:
    subject, queue = key
    if queue is None:
        return b"LS+ %s\r\n" % subject.encode()
    return b"LS+ %s %s %d\r\n" % (subject.encode(), queue.encode(), count)


def _json(value: dict) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _string(value) -> str:
    return value if isinstance(value, str) else ""


def _rejection(options: dict) -> str | None:
    """The -ERR text nats-server sends for a CONNECT it refuses on the leaf port, or None."""
    if "lang" in options:
        return "attempted to connect to leaf node port"
    gateway = options.get("gateway")
    if gateway:
        return f'Rejecting connection from gateway "{gateway}" on the leafnode port'
    cluster = options.get("cluster")
    if isinstance(cluster, str) and " " in cluster:
        return "cluster name cannot contain spaces"
    return None


def _unrestricted(permissions: Permissions) -> bool:
    return permissions.publish_allow is None and not permissions.publish_deny


def _permission_json(permissions: Permissions) -> dict:
    result: dict = {}
    if permissions.publish_allow is not None:
        result["allow"] = list(permissions.publish_allow)
    if permissions.publish_deny:
        result["deny"] = list(permissions.publish_deny)
    return result

