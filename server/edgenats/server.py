"""The Server: listeners, accounts, connection registry, the per-loop-turn flush, and the lifecycle
(start, reload on SIGHUP, graceful stop on SIGINT/SIGTERM).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import platform
import signal
import time
from collections import deque
from itertools import chain
from typing import TYPE_CHECKING

from edgenats import NATS_COMPAT_VERSION, __version__
from edgenats.account import GLOBAL_ACCOUNT, Account
from edgenats.auth import AuthConfigError, Authenticator, LoginGuard
from edgenats.auth.config import DEFAULT_AUTH_TIMEOUT
from edgenats.backpressure import Backpressure
from edgenats.client import ClientConnection
from edgenats.client_tls import ClientTLS, TLSAcceptor
from edgenats.connection import Connection
from edgenats.imports import Imports
from edgenats.leafnode.config import LeafNodeSettings
from edgenats.listen_errors import describe_address, opening
from edgenats.logs import configure_logging
from edgenats.options import NOT_RELOADABLE, Options, OptionsError, block_error, load_options
from edgenats.surface import ClosedConnection

if TYPE_CHECKING:
    from edgenats.jetstream.service import JetStream
    from edgenats.leafnode.manager import LeafNodes
    from edgenats.monitor import MonitorServer
    from edgenats.system import SystemAccount
    from edgenats.websocket.listener import WebSocketListener

log = logging.getLogger("edgenats")

_SHUTDOWN_GRACE = 2.0
# Keepalive deadlines are checked this often at most (a quarter of ping_interval when shorter).
_KEEPALIVE_SWEEP_MAX = 0.5
_CLOSED_CONNECTIONS_KEPT = 1000


def _fixed(setting: object) -> object:
    """A setting as reload compares it: the leafnodes block less the remotes' drain rates."""
    return setting.fixed() if isinstance(setting, LeafNodeSettings) else setting


def new_server_id() -> str:
    # Shaped like nats-server's ids (56 chars, 'N' prefix, base32); uniqueness is all clients need.
    return "N" + base64.b32encode(os.urandom(35)).decode()[:55]


def build_authenticator(options: Options) -> Authenticator:
    # As nats-server: with TLS on the client port, the auth timeout (unless set) is the TLS timeout plus 1 s.
    default_timeout = options.tls.timeout + 1.0 if options.tls is not None else DEFAULT_AUTH_TIMEOUT
    try:
        return Authenticator.from_config(
            options.authorization, options.accounts, options.no_auth_user,
            cli_user=options.user, cli_password=options.password, cli_token=options.token,
            default_timeout=default_timeout,
        )
    except AuthConfigError as error:
        raise OptionsError(block_error(options, error)) from None


def build_client_tls(options: Options) -> ClientTLS | None:
    """The client port's TLS, its certificate files read now (at start and on every reload)."""
    if options.tls is None:
        return None
    try:
        return ClientTLS(options.tls)
    except (OSError, ValueError) as error:
        raise OptionsError(f"{options.config_file or 'flags'}: tls: {error}") from None


def build_leafnodes(server: Server) -> LeafNodes:
    # Imported only when leaf nodes are configured: a broker without them stays smaller.
    from edgenats.leafnode.manager import LeafNodes

    try:
        return LeafNodes(server, server.options.leafnodes)
    except AuthConfigError as error:
        raise OptionsError(f"{server.options.config_file or 'flags'}: leafnodes.authorization: {error}") from None
    except OSError as error:
        raise OptionsError(f"{server.options.config_file or 'flags'}: leafnodes.tls: {error}") from None


def build_websocket(server: Server) -> WebSocketListener:
    # Imported only when a WebSocket port is configured, like leaf nodes.
    from edgenats.websocket.listener import WebSocketListener

    try:
        return WebSocketListener(server, server.options.websocket)
    except (ValueError, OSError) as error:
        raise OptionsError(f"{server.options.config_file or 'flags'}: websocket: {error}") from None


class Server:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.server_id = new_server_id()
        self.server_name = options.server_name or self.server_id
        self.loop = asyncio.get_running_loop()
        self.start_time = time.time()
        self.config_load_time = self.start_time
        self.authenticator = build_authenticator(options)
        self.login_guard = LoginGuard(options.max_pending_connects, options.auth_failure_delay)
        self.client_tls = build_client_tls(options)
        self.accounts: dict[str, Account] = {}
        self.global_account = self.account(GLOBAL_ACCOUNT)
        self.system_account = self.account(options.system_account)
        self.system: SystemAccount | None = None
        self.jetstream: JetStream | None = None
        self.imports = Imports(self.account, self.loop)
        self.imports.apply(options.account_settings)
        self.connections: dict[int, Connection] = {}
        self.keepalive: set[Connection] = set()
        self.backpressure = Backpressure(self.loop)
        self.closed_connections: deque[ClosedConnection] = deque(maxlen=_CLOSED_CONNECTIONS_KEPT)
        self.total_connections = 0
        self.slow_consumers = 0
        # Of which leaf links (nats-server's slow_consumer_stats.leafs).
        self.leaf_slow_consumers = 0
        self.stale_connections = 0
        self.closed_totals = {"in_msgs": 0, "out_msgs": 0, "in_bytes": 0, "out_bytes": 0}
        self.base_info: dict = {}
        self.tracing = options.trace
        self._last_cid = 0
        self._dirty: list[Connection] = []
        self._flush_scheduled = False
        self._listener: asyncio.base_events.Server | None = None
        self._stopped = asyncio.Event()
        self._monitor = None
        self.leafnodes = build_leafnodes(self) if options.leafnodes is not None else None
        self.websocket = build_websocket(self) if options.websocket is not None and options.websocket.port else None
        self._refresh_info()

    @property
    def monitor(self) -> MonitorServer | None:
        return self._monitor

    # registry ----------------------------------------------------------------------------------

    def account(self, name: str) -> Account:
        account = self.accounts.get(name)
        if account is None:
            account = self.accounts[name] = Account(name, self.mark_dirty)
        return account

    def next_connection_id(self) -> int:
        self._last_cid += 1
        return self._last_cid

    def admit(self, connection: Connection) -> bool:
        if len(self.connections) >= self.options.max_connections:
            return False
        self.connections[connection.cid] = connection
        self.total_connections += 1
        return True

    def forget(self, connection: ClientConnection) -> None:
        if self.connections.pop(connection.cid, None) is not None:
            self.record_closed(connection)

    def record_closed(self, connection: Connection) -> None:
        """A closed client or leaf link: its counts stay in the totals, its entry in /connz?state=closed."""
        totals = self.closed_totals
        totals["in_msgs"] += connection.in_msgs
        totals["out_msgs"] += connection.out_msgs
        totals["in_bytes"] += connection.in_bytes
        totals["out_bytes"] += connection.out_bytes
        user = connection.user
        self.closed_connections.append(ClosedConnection(
            connection.cid, connection.kind, connection.host, connection.port, connection.start_time,
            time.time(), connection.close_reason, connection.name, getattr(connection, "lang", ""),
            getattr(connection, "version", ""),
            connection.in_msgs, connection.out_msgs, connection.in_bytes, connection.out_bytes,
            connection.account.name, user.name if user else "",
        ))

    def settle_counters(self) -> None:
        """Before reading delivery counters: fold in what cached delivery plans counted in bulk."""
        for account in self.accounts.values():
            account.settle_counters()

    def totals(self) -> dict[str, int]:
        """Message and byte counters over every connection and leaf link, open and closed (/varz, STATSZ)."""
        self.settle_counters()
        result = dict(self.closed_totals)
        links = self.leafnodes.links if self.leafnodes is not None else ()
        for connection in chain(self.connections.values(), links):
            result["in_msgs"] += connection.in_msgs
            result["out_msgs"] += connection.out_msgs
            result["in_bytes"] += connection.in_bytes
            result["out_bytes"] += connection.out_bytes
        return result

    def subscription_count(self) -> int:
        return sum(account.sublist.count for account in self.accounts.values())

    # INFO --------------------------------------------------------------------------------------

    @property
    def client_port(self) -> int:
        """The client port: the configured one, or the one the system picked for `port: -1`."""
        if self._listener is None or not self._listener.sockets:
            return self.options.port
        return self._listener.sockets[0].getsockname()[1]

    def _refresh_info(self) -> None:
        options = self.options
        info = {
            "server_id": self.server_id,
            "server_name": self.server_name,
            "version": NATS_COMPAT_VERSION,
            "proto": 1,
            "go": f"python{platform.python_version()} edgenats/{__version__}",
            "host": options.host,
            "port": self.client_port,
            "headers": True,
            "max_payload": options.max_payload,
        }
        if options.jetstream.enabled:
            info["jetstream"] = True
            if options.jetstream.domain:
                info["domain"] = options.jetstream.domain
        if self.authenticator.auth_required:
            info["auth_required"] = True
        if self.client_tls is not None:
            info.update(self.client_tls.info_fields())
        self.base_info = info

    def client_info(self, connection: ClientConnection, connect_info: bool = False) -> dict:
        info = dict(self.base_info)
        info["client_id"] = connection.cid
        info["client_ip"] = connection.host
        if connect_info:
            info["connect_info"] = True
            info["remote_account"] = connection.account.name
            # The account's limit when smaller than the server's.
            info["max_payload"] = connection.parser.max_payload
        elif connection.nonce:
            # The nonce to sign is in the first INFO only.
            info["nonce"] = connection.nonce
        return info

    # output coalescing -------------------------------------------------------------------------

    def mark_dirty(self, connection: Connection) -> None:
        """`connection` has queued output: write it once, after everything read this loop turn."""
        self._dirty.append(connection)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush_dirty)

    def _flush_dirty(self) -> None:
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, []
        for connection in dirty:
            connection.flush()

    # keepalive ---------------------------------------------------------------------------------

    def _keepalive_sweep(self) -> None:
        now = self.loop.time()
        for connection in [c for c in self.keepalive if c.next_ping_at <= now]:
            connection.ping_due(now)
        period = min(_KEEPALIVE_SWEEP_MAX, self.options.ping_interval / 4)
        self.loop.call_later(period, self._keepalive_sweep)

    # lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        options = self.options
        host = None if options.host in ("", "0.0.0.0") else options.host
        # Bound now, accepting last: once the client port answers, the other ports are open too.
        with opening("client connections", options.host, options.port, "-p PORT or `port` in the config"):
            self._listener = await self.loop.create_server(
                self._accept_client, host, max(options.port, 0), reuse_address=True, backlog=1024,
                start_serving=False,
            )
        self._refresh_info()  # with the port the system picked for `-p -1`
        from edgenats.system import SystemAccount

        self.system = SystemAccount(self)
        self.system.start()
        log.info("Starting edgenats-server")
        log.info("  Version:  %s (NATS protocol compatible with nats-server %s)", __version__,
                 NATS_COMPAT_VERSION)
        log.info("  Name:     %s", self.server_name)
        log.info("  ID:       %s", self.server_id)
        if options.config_file:
            log.info("Using configuration file: %s", options.config_file)
        if options.http_port:
            from edgenats.monitor import MonitorServer

            self._monitor = MonitorServer(self)
            await self._monitor.start(options.http_host, options.http_port)
            log.info("Starting http monitor on %s:%d", options.http_host, options.http_port)
        if options.jetstream.enabled:
            from edgenats.jetstream.service import JetStream

            self.jetstream = JetStream(options.jetstream, self.server_name)
            self.jetstream.start(self.account, options.account_settings, options.system_account)
        self._keepalive_sweep()
        if self.leafnodes is not None:
            await self.leafnodes.start()
        if self.websocket is not None:
            await self.websocket.start()
        # Signals are handled before the client port answers: a test (or an operator's script) that
        # sends SIGHUP as soon as it can connect must get a reload, not the default action (exit).
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.loop.add_signal_handler(sig, self.request_stop)
        self.loop.add_signal_handler(signal.SIGHUP, self.reload)
        await self._listener.start_serving()
        log.info("Listening for client connections on %s", describe_address(options.host, self.client_port))
        if self.client_tls is not None:
            log.info("TLS required for client connections")
        log.info("Server is ready")

    def _accept_client(self) -> ClientConnection | TLSAcceptor:
        """The protocol of a connection accepted on the client port: the session, or with TLS (as configured
        now: a reload may turn it on or off) the acceptor that opens the session once TLS is up."""
        if self.client_tls is None:
            return ClientConnection(self)
        return TLSAcceptor(self, self.client_tls, ClientConnection(self))

    def request_stop(self) -> None:
        self._stopped.set()

    async def serve_until_stopped(self) -> None:
        await self._stopped.wait()
        await self.shutdown()

    async def shutdown(self) -> None:
        log.info("Initiating Shutdown...")
        if self._listener is not None:
            self._listener.close()
        if self.websocket is not None:
            self.websocket.stop()
        if self._monitor is not None:
            await self._monitor.stop()
        if self.system is not None:
            self.system.stop()
        if self.jetstream is not None:
            # Captured messages are stored and acknowledged while their publishers are still connected.
            await self.jetstream.stop()
        open_connections = list(self.connections.values())
        for connection in open_connections:
            connection.close("Server Shutdown")
        if self.leafnodes is not None:
            open_connections += self.leafnodes.stop()
        deadline = self.loop.time() + _SHUTDOWN_GRACE
        while any(not c.transport.is_closing() or c.transport.get_write_buffer_size()
                  for c in open_connections if c.transport) and self.loop.time() < deadline:
            await asyncio.sleep(0.01)
        log.info("Server Exiting..")

    def reload(self) -> None:
        """SIGHUP: re-read the config; apply auth, client TLS (certificate files read again), imports, limits
        (JetStream's too) and log level; refuse fixed settings."""
        old = self.options
        log.info("Reloading server configuration")
        try:
            new = load_options(old.config_file, old.flag_overrides)
            changed_fixed = [name for name in NOT_RELOADABLE
                             if _fixed(getattr(new, name)) != _fixed(getattr(old, name))]
            if changed_fixed:
                raise OptionsError(f"config reload not supported for {', '.join(changed_fixed)}")
            if self.jetstream is not None and not self.jetstream.reloadable(new.account_settings,
                                                                            new.system_account):
                raise OptionsError("config reload not supported for turning JetStream on or off in an account")
            authenticator = build_authenticator(new)
            client_tls = build_client_tls(new)
        except OptionsError as error:
            log.error("Failed to reload server configuration: %s", error)
            return
        self.options = new
        self.tracing = new.trace
        self.authenticator = authenticator
        self.login_guard.configure(new.max_pending_connects, new.auth_failure_delay)
        # New connections get the new TLS settings and certificate; open ones keep their session.
        self.client_tls = client_tls
        self.config_load_time = time.time()
        configure_logging(new.debug, new.trace, new.logtime, new.log_file)
        self._refresh_info()
        self.imports.apply(new.account_settings)
        if self.leafnodes is not None:
            self.leafnodes.apply_reload(new.leafnodes)
        if self.jetstream is not None:
            self.jetstream.apply_limits(new.account_settings, new.system_account)
        for account in self.accounts.values():
            account.sublist.clear_cache()
        for connection in list(self.connections.values()):
            if isinstance(connection, ClientConnection):
                connection.apply_reload()
        if client_tls is not None and (old.tls is None or client_tls.settings.pinned_certs != old.tls.pinned_certs):
            self._recheck_pinned_certs(client_tls)
        log.info("Reloaded server configuration")

    def _recheck_pinned_certs(self, client_tls: ClientTLS) -> None:
        """New `pinned_certs`: clients of the client port whose certificate is no longer listed are closed."""
        refused = [connection for connection in self.connections.values()
                   if isinstance(connection, ClientConnection) and connection.server is self
                   and connection.transport is not None and not client_tls.pinned(connection.transport)]
        if refused:
            log.info("Disconnect %d clients due to pinned certs reload", len(refused))
        for connection in refused:
            connection.close("TLS Handshake Failure")
