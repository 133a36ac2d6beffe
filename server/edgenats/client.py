"""A client connection's session: INFO/CONNECT (on a TLS port, opened by client_tls's acceptor once the
handshake is done), authentication, permissions, PUB/HPUB/SUB/UNSUB, echo, queue-group selection,
no-responders, and the delivery of messages to client subscribers.

Logging in runs `LoginState`: OPENING -> AWAITING_CONNECT (admitted by `max_connections` and the
server's LoginGuard; pinged from the start, as nats-server) -> CONNECTED, or -> REFUSING when a
repeated failure waits out `auth_failure_delay` before its `Authorization Violation`.

The publish path is the broker's hot path: a subject's match is cached with a delivery plan that
holds each subscriber's prebuilt `MSG <subject> <sid> ` prefix, so a delivery is a list extend.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from edgenats.account import Account
from edgenats.account_config import NO_LIMIT, account_limits, smaller_limit
from edgenats.auth import RESERVED_QUEUE_GROUP, Authenticator, LoginState, ReplyAllowance, new_nonce
from edgenats.client_tls import Opening, peer_certificate
from edgenats.connection import Connection
from edgenats.protocol.client_parser import ClientProtocolParser
from edgenats.protocol.connect_options import ConnectOptions
from edgenats.protocol.framing import OK, PONG, go_quote, info_line
from edgenats.protocol.headers import Headers
from edgenats.subjects import is_valid_subscription_subject, subject_matches
from edgenats.sublist import Subscription

if TYPE_CHECKING:
    from edgenats.auth import AuthenticatedUser
    from edgenats.auth.certificates import ClientCertificate

log = logging.getLogger("edgenats")

# Replies only the server makes (service import replies, JetStream acks): a client may not publish with one.
_RESERVED_REPLY_PREFIXES = (b"_R_.", b"$JS.ACK.")


class ClientConnection(Connection):
    kind = "Client"
    __slots__ = (
        "account",
        "user",
        "reply_allowance",
        "subscriptions",
        "verbose",
        "pedantic",
        "echo_skip",
        "headers",
        "no_responders",
        "max_subscriptions",
        "protocol_level",
        "name",
        "lang",
        "version",
        "login",
        "nonce",
        "logged_in_with",
        "_checked_publish",
        "_route",
        "_connect_info_pending",
        "_login_timer",
        "_expiry_timer",
        "opening",
    )

    def __init__(self, server) -> None:
        super().__init__(server)
        options = server.options
        self.parser = ClientProtocolParser(self, options.max_control_line, options.max_payload)
        self.account: Account = server.global_account
        # The account's routing path, bound once per account (the publish hot path calls it).
        self._route = self.account.publish
        self.user: AuthenticatedUser | None = None
        self.reply_allowance: ReplyAllowance | None = None
        self.subscriptions: dict[bytes, Subscription] = {}
        # Defaults before (or without) CONNECT, as nats-server: verbose, pedantic and echo on.
        self.verbose = True
        self.pedantic = True
        # The connection its own messages skip: None with echo on (the default), itself with echo off.
        self.echo_skip: ClientConnection | None = None
        self.headers = False
        self.no_responders = False
        # The server's limit narrowed by the account's once bound; NO_LIMIT (-1) for none.
        self.max_subscriptions = options.max_subscriptions or NO_LIMIT
        self.protocol_level = 0
        self.name = ""
        self.lang = ""
        self.version = ""
        self.login = LoginState.OPENING
        # The nonce the INFO carries for an nkey signature ("" without nkey users); made here, as the
        # INFO may go out from a TLS port's acceptor before the session opens.
        self.nonce = new_nonce() if server.authenticator.nonce_required else ""
        # The CONNECT options of the login (the parser's object, not a copy), checked again after a reload.
        self.logged_in_with: ConnectOptions | None = None
        self._checked_publish = True
        self._connect_info_pending = False
        # The auth timeout while awaiting CONNECT, the delayed refusal while refusing.
        self._login_timer: asyncio.TimerHandle | None = None
        # The end of a user JWT's validity (its expiry or time window) while logged in with one.
        self._expiry_timer: asyncio.TimerHandle | None = None
        # Set by a TLS port's acceptor before the handshake (see client_tls).
        self.opening = Opening.PLAIN

    # lifecycle ---------------------------------------------------------------------------------

    def on_open(self) -> None:
        """INFO, the connection limit, then the session. On a TLS port the acceptor (client_tls) has checked
        the limit and sent the INFO before the handshake, unless the client does TLS first: then the INFO
        goes now, inside TLS."""
        server = self.server
        authenticator = server.authenticator
        if self.opening is not Opening.INFO_SENT:
            self.send(info_line(server.client_info(self)))
        if self.opening is Opening.PLAIN and not server.admit(self):
            log.error("%s - Maximum connections exceeded", self.describe())
            self.close("Maximum Connections Exceeded", error_text="maximum connections exceeded")
            return
        if not server.login_guard.admit():
            log.error("%s - Maximum pending connections exceeded", self.describe())
            self.close("Maximum Pending Connections Exceeded", error_text="maximum pending connections exceeded")
            return
        self.login = LoginState.AWAITING_CONNECT
        self.start_keepalive(session_up=False)
        if authenticator.auth_required:
            self.parser.connect_required = True
            self._login_timer = server.loop.call_later(authenticator.timeout, self._auth_timeout)
        else:
            self._bind(authenticator.authenticate({}))
        log.debug("%s - Client connection created", self.describe())

    def on_close(self) -> None:
        if self._login_timer is not None:
            self._login_timer.cancel()
        if self._expiry_timer is not None:
            self._expiry_timer.cancel()
        if self.login in (LoginState.AWAITING_CONNECT, LoginState.REFUSING):
            self.server.login_guard.release()
        self._drop_subscriptions()
        self.account.connections.discard(self)
        self.server.forget(self)
        if self.login is LoginState.CONNECTED:
            self.server.system.client_disconnected(self)
        log.debug("%s - Client connection closed: %s", self.describe(), self.close_reason)

    def _auth_timeout(self) -> None:
        self._login_timer = None
        if self.login is LoginState.AWAITING_CONNECT and not self.closed:
            log.error("%s - Authentication Timeout", self.describe())
            self.close("Authentication Timeout", error_text="Authentication Timeout")

    def _mapped_certificate(self) -> ClientCertificate | None:
        """The client's certificate when the client port maps certificates to users (`verify_and_map`, as
        configured now: a reload may turn it on or off); read from the TLS session at each login."""
        tls = self.server.client_tls
        if tls is None or not tls.settings.verify_and_map:
            return None
        der = peer_certificate(self.transport)
        if der is None:
            return None
        # Imported on first use: only ports that map certificates to users need the X.509 code.
        from edgenats.auth.certificates import ClientCertificate

        return ClientCertificate.from_der(der)

    def _authenticate(self, credentials: dict) -> AuthenticatedUser | None:
        server = self.server
        return server.authenticator.authenticate(credentials, self.nonce, self._mapped_certificate(), self.host,
                                                 server.connection_type)

    def _account_loaded(self, user: AuthenticatedUser) -> bool:
        """A JWT user's account made or refreshed from its account JWT; False (logged) when its claims
        cannot be applied."""
        if user.jwt is None:
            return True
        from edgenats.account_claims import AccountClaimsError  # operator mode only, like the JWT code

        try:
            self.server.load_jwt_account(user.jwt.account_claims)
        except AccountClaimsError as error:
            log.error("%s - %s", self.describe(), error)
            return False
        return True

    def _bind(self, user: AuthenticatedUser) -> None:
        self.user = user
        self.account.connections.discard(self)
        self.account = self.server.account(user.account)
        self.account.connections.add(self)
        self._route = self.account.publish
        self._update_publish_checks()
        self._set_limits()
        if 0 <= self.max_subscriptions <= len(self.subscriptions):
            # nats-server says so at once when the limit leaves no room (a user JWT without `subs`: 0).
            self.send_error("maximum subscriptions exceeded")
        self._arm_expiry(user)

    def _set_limits(self) -> None:
        # nats-server applies the smallest of the server's, the account's and a user JWT's limit.
        user = self.user
        options = self.server.options
        limits = account_limits(self.server.account_settings, user.account)
        max_payload = smaller_limit(options.max_payload, limits.max_payload)
        max_subscriptions = smaller_limit(options.max_subscriptions or NO_LIMIT, limits.max_subscriptions)
        if user.jwt is not None:
            max_payload = smaller_limit(max_payload, user.jwt.max_payload)
            max_subscriptions = smaller_limit(max_subscriptions, user.jwt.max_subscriptions)
        self.parser.max_payload = max_payload
        self.max_subscriptions = max_subscriptions

    def apply_account_limits(self) -> None:
        """The account's limits changed (a new account JWT): applied now; at or over the subscription
        limit the connection is told and closed, as nats-server does."""
        if self.login is not LoginState.CONNECTED:
            return
        self._set_limits()
        if 0 <= self.max_subscriptions <= len(self.subscriptions):
            log.error("%s - maximum subscriptions exceeded", self.describe())
            self.close("Maximum Subscriptions Exceeded", error_text="maximum subscriptions exceeded")

    def _arm_expiry(self, user: AuthenticatedUser) -> None:
        """A user JWT that expires (or whose time window ends), or its account JWT expiring, ends the
        session then, as nats-server."""
        if self._expiry_timer is not None:
            self._expiry_timer.cancel()
            self._expiry_timer = None
        identity = user.jwt
        if identity is None:
            return
        ends = [(moment, text) for moment, text in ((identity.expires_at, "User Authentication Expired"),
                                                     (identity.account_expires_at, "Account Authentication Expired"))
                if moment is not None]
        if ends:
            moment, text = min(ends)
            self._expiry_timer = self.server.loop.call_later(max(0.0, moment - time.time()), self._auth_expired, text)

    def _auth_expired(self, text: str) -> None:
        self._expiry_timer = None
        if not self.closed:
            log.error("%s - %s", self.describe(), text)
            self.close("Authentication Expired", error_text=text)

    def _account_full(self, name: str) -> bool:
        """Whether account `name` already has as many connections as its limit allows (not counting this one)."""
        limit = account_limits(self.server.account_settings, name).max_connections
        if limit < 0:
            return False
        account = self.server.accounts.get(name)
        others = len(account.connections) - (self in account.connections) if account is not None else 0
        return others >= limit

    def apply_reload(self) -> None:
        """After a config reload: new limits, and credentials checked again against the new auth."""
        options = self.server.options
        self.parser.max_payload = options.max_payload
        self.parser.max_control_line = options.max_control_line
        if self.login is not LoginState.CONNECTED:
            return
        credentials = self.logged_in_with.credentials() if self.logged_in_with is not None else {}
        user = self._authenticate(credentials)
        if user is None and self.server.authenticator.revoked(credentials):
            log.error("%s - User Authentication Revoked", self.describe())
            self.close("Credentials Revoked", error_text="User Authentication Revoked")
            return
        if user is None or not self._account_loaded(user):
            self._authorization_violation(" - credentials no longer valid after reload")
            return
        if user.account != self.account.name:
            self._drop_subscriptions()
        self._bind(user)

    def _update_publish_checks(self) -> None:
        permissions = self.user.permissions if self.user else None
        rule = permissions.allow_responses if permissions is not None else None
        self.reply_allowance = ReplyAllowance(rule) if rule is not None else None
        self._checked_publish = self.verbose or self.pedantic or permissions is not None

    # operations --------------------------------------------------------------------------------

    def on_connect(self, options: ConnectOptions) -> None:
        """A CONNECT, its JSON already applied to the options earlier CONNECTs left (as nats-server)."""
        # nats-server's order: credentials (and the refused account fields), protocol, no_responders.
        user = self._authenticate(options.credentials())
        if user is not None and not self._account_loaded(user):
            user = None
        if user is None:
            delay = self.server.login_guard.failed(self.host)
            self._authorization_violation(Authenticator.failure_detail(options.credentials()), delay)
            return
        if not 0 <= options.protocol <= 1:
            self.close("Protocol Violation", error_text="invalid client protocol")
            return
        if options.no_responders and not options.headers:
            self.close("Protocol Violation", error_text="no responders requires headers support")
            return
        if self._account_full(user.account):
            log.error("%s - maximum account active connections exceeded", self.describe())
            self.close("Maximum Account Connections Exceeded", error_text="maximum account active connections exceeded")
            return
        if self.login is LoginState.CONNECTED:
            # A second CONNECT re-authenticates and starts over without subscriptions.
            self._drop_subscriptions()
        if self._login_timer is not None:
            self._login_timer.cancel()
            self._login_timer = None
        self.verbose = options.verbose
        self.pedantic = options.pedantic
        self.echo_skip = self if not options.echo else None
        self.headers = options.headers
        self.no_responders = options.no_responders
        self.protocol_level = options.protocol
        self.name = options.name
        self.lang = options.lang
        self.version = options.version
        self.logged_in_with = options
        self.parser.connect_required = False
        self.parser.headers_allowed = options.headers
        self.parser.pedantic = options.pedantic
        self._bind(user)
        if self.login is not LoginState.CONNECTED:
            self.login = LoginState.CONNECTED
            self.server.login_guard.release()
            self._connect_info_pending = options.protocol >= 1
            self.start_keepalive()
            self.server.system.client_connected(self)
        if self.verbose:
            self.send(OK)

    def _authorization_violation(self, detail: str, delay: float = 0.0) -> None:
        """Log as nats-server (`detail` names what was offered) and refuse, after `delay` (the guard's
        answer to a repeated failed login) when not logged in yet."""
        log.error("%s - authentication error%s", self.describe(), detail)
        if delay <= 0 or self.login is not LoginState.AWAITING_CONNECT:
            self._refuse()
            return
        self.login = LoginState.REFUSING
        if self._login_timer is not None:
            self._login_timer.cancel()
        self.parser.stop()
        self.stop_keepalive()
        self._login_timer = self.server.loop.call_later(delay, self._refuse)

    def _refuse(self) -> None:
        self._login_timer = None
        self.close("Authentication Failure", error_text="Authorization Violation")

    def on_ping(self) -> None:
        self.send(PONG)
        if self._connect_info_pending:
            self._connect_info_pending = False
            self.send(info_line(self.server.client_info(self, connect_info=True)))

    def on_pong(self) -> None:
        self.pong_received()

    def on_sub(self, subject: bytes, queue: bytes | None, sid: bytes) -> None:
        """In nats-server's order: permissions, the subscription limit, then (for a new sid only) the
        subject's validity; a known sid is answered +OK and left as it is."""
        subject_text = subject.decode("latin-1")
        queue_text = queue.decode("latin-1") if queue is not None else None
        permissions = self.user.permissions if self.user else None
        if (queue_text == RESERVED_QUEUE_GROUP and permissions is None) or (
            permissions is not None and not permissions.can_subscribe(subject_text, queue_text)
        ):
            text = f"Permissions Violation for Subscription to {go_quote(subject_text)}"
            queue_note = ""
            if queue_text is not None:
                text += f" using queue {go_quote(queue_text)}"
                queue_note = f", Queue: {go_quote(queue_text)}"
            self.send_error(text)
            self._log_violation(f"Subscription Violation - Subject {go_quote(subject_text)}{queue_note}, "
                                f"SID {sid.decode('latin-1')}")
            return
        limit = self.max_subscriptions
        if limit >= 0 and len(self.subscriptions) >= limit:
            self.send_error("maximum subscriptions exceeded")
            return
        if sid not in self.subscriptions:
            if not is_valid_subscription_subject(subject_text):
                self.send_error("Invalid Subject")
                return
            subscription = Subscription(self, subject_text, queue_text, sid)
            self.subscriptions[sid] = subscription
            self.account.sublist.insert(subscription)
        if self.verbose:
            self.send(OK)

    def on_unsub(self, sid: bytes, max_msgs: int | None) -> None:
        subscription = self.subscriptions.get(sid)
        if subscription is not None:
            # Its delivery count must be exact before comparing, and its plans must count it singly.
            self.account.sublist.refresh(subscription)
            if max_msgs and max_msgs > subscription.delivered:
                subscription.max_msgs = max_msgs
            else:
                self.remove_subscription(subscription)
        if self.verbose:
            self.send(OK)

    def on_publish(
        self, subject: bytes, reply: bytes | None, header_size: int, size: int, payload_crlf: memoryview,
        sizes_as_sent: tuple[bytes | None, bytes] | None = None,
    ) -> None:
        """PUB (header_size -1) or HPUB: the broker's hot path, handed to the account's routing."""
        self.in_msgs += 1
        self.in_bytes += size
        if (self._checked_publish or reply is not None and reply.startswith(_RESERVED_REPLY_PREFIXES)) \
                and not self._publish_allowed(subject, reply):
            return
        delivered = self._route(subject, reply, header_size, size, payload_crlf, self.echo_skip, sizes_as_sent)
        if not delivered and reply is not None and self.no_responders:
            self._send_no_responders(subject, reply)

    def on_request_run(self, subject: bytes, size: int, replies: list[bytes], payloads: list[memoryview]) -> None:
        """Consecutive PUBs on one subject, each with its own reply (async publishes): handed over as
        one run when nothing needs checking per message."""
        if self._checked_publish or any([reply.startswith(_RESERVED_REPLY_PREFIXES) for reply in replies]):
            for reply, payload_crlf in zip(replies, payloads, strict=True):
                self.on_publish(subject, reply, -1, size, payload_crlf)
            return
        count = len(replies)
        self.in_msgs += count
        self.in_bytes += count * size
        unanswered = self.account.publish_requests(subject, size, replies, payloads, self.echo_skip)
        if unanswered and self.no_responders:
            for reply in unanswered:
                self._send_no_responders(subject, reply)

    def on_publish_run(self, subject: bytes, size: int, payloads: list[memoryview]) -> None:
        """Consecutive identical PUB lines without a reply: handed over as one run when nothing needs
        checking per message."""
        if self._checked_publish:
            for payload_crlf in payloads:
                self.on_publish(subject, None, -1, size, payload_crlf)
            return
        count = len(payloads)
        self.in_msgs += count
        self.in_bytes += count * size
        self.account.publish_run(subject, size, payloads, self.echo_skip)

    def _log_violation(self, what: str) -> None:
        """A refused PUB or SUB, logged as nats-server logs it: who the client is, its user, what it tried."""
        user = self.user
        who = f" - {go_quote(f'{user.account}/user:{user.name}')}" if user and user.name else ""
        client = go_quote(f"v{self.version}:{self.lang}:{self.name}")
        log.error("%s - %s%s - %s", self.describe(), client, who, what)

    def _publish_allowed(self, subject: bytes, reply: bytes | None) -> bool:
        """The checks that only verbose, pedantic or restricted connections (or a reserved reply) pay for, in
        nats-server's order."""
        permissions = self.user.permissions if self.user else None
        if permissions is not None:
            subject_text = subject.decode("latin-1")
            allowance = self.reply_allowance
            if not permissions.can_publish(subject_text) and not (allowance and allowance.consume(subject_text)):
                self.send_error(f"Permissions Violation for Publish to {go_quote(subject_text)}")
                self._log_violation(f"Publish Violation - Subject {go_quote(subject_text)}")
                return False
        if reply is not None and reply.startswith(_RESERVED_REPLY_PREFIXES):
            reply_text = reply.decode("latin-1")
            self.send_error(f"Permissions Violation for Publish with Reply of {go_quote(reply_text)}")
            return False
        if self.verbose:
            self.send(OK)
        return True

    def on_invalid_publish_subject(self) -> None:
        # Reported from the control line, as nats-server; the message is still routed.
        self.send_error("Invalid Publish Subject")

    def _send_no_responders(self, subject: bytes, reply: bytes) -> None:
        reply_text = reply.decode("latin-1")
        for subscription in self.subscriptions.values():
            if subscription.queue is None and subject_matches(subscription.subject, reply_text):
                header = Headers((("Nats-Subject", subject.decode("latin-1")),), 503).encode()
                self.send(b"HMSG %s %s %d %d\r\n%s\r\n" % (reply, subscription.sid, len(header),
                                                          len(header), header))
                return

    # subscriptions -----------------------------------------------------------------------------

    def remove_subscription(self, subscription: Subscription) -> None:
        if self.subscriptions.pop(subscription.sid, None) is not None:
            self.account.sublist.remove(subscription)

    def _drop_subscriptions(self) -> None:
        sublist = self.account.sublist
        for subscription in self.subscriptions.values():
            sublist.remove(subscription)
        self.subscriptions.clear()

    def grant_reply(self, reply: bytes) -> None:
        """`allow_responses`: this connection may answer a request it received, if it could not already."""
        reply_text = reply.decode("latin-1")
        if not self.user.permissions.can_publish(reply_text):
            self.reply_allowance.remember(reply_text)

    def send_error(self, text: str) -> None:
        self.send(b"-ERR '%s'\r\n" % text.encode("utf-8", "replace"))
