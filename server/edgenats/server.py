"""The Server: listeners, accounts, connection registry, the per-loop-turn flush, and the lifecycle
(start, reload on SIGHUP, log reopen on SIGUSR1, lame duck on SIGUSR2, graceful stop on SIGINT/SIGTERM;
each step told to systemd when it runs the broker).

Lifecycle states: STARTING -> RUNNING -> (LAME_DUCK ->) STOPPING.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import signal
import sys
import time
from collections import deque
from enum import Enum
from itertools import chain
from typing import TYPE_CHECKING

from edgenats import NATS_COMPAT_VERSION, __version__
from edgenats.account import GLOBAL_ACCOUNT, Account
from edgenats.account_config import AccountSettings
from edgenats.auth import AuthConfigError, Authenticator, LoginGuard, LoginState
from edgenats.auth.config import DEFAULT_AUTH_TIMEOUT
from edgenats.auth.identity import STANDARD
from edgenats.backpressure import Backpressure
from edgenats.client import ClientConnection
from edgenats.client_tls import ClientTLS, TLSAcceptor
from edgenats.connection import Connection
from edgenats.imports import Imports
from edgenats.lame_duck import run_lame_duck
from edgenats.listen_errors import describe_address, opening
from edgenats.listener import Listener, bind_listening_socket
from edgenats.logs import configure_logging
from edgenats.options import NOT_RELOADABLE, Options, OptionsError, block_errors, load_options
from edgenats.protocol.framing import info_line
from edgenats.surface import ClosedConnection
from edgenats.systemd import SystemdNotifier

if TYPE_CHECKING:
    from edgenats.auth.account_resolver import AccountResolver, ResolverSettings
    from edgenats.jetstream.service import JetStream
    from edgenats.jwt_accounts import JwtAccounts
    from edgenats.leafnode.manager import LeafNodes
    from edgenats.monitor.server import MonitorServer
    from edgenats.system import SystemAccount
    from edgenats.websocket.listener import WebSocketListener

log = logging.getLogger("edgenats")

_SHUTDOWN_GRACE = 2.0
# Keepalive deadlines are checked this often at most (a quarter of ping_interval when shorter).
_KEEPALIVE_SWEEP_MAX = 0.5
_CLOSED_CONNECTIONS_KEPT = 1000


class ServerState(Enum):
    STARTING = "starting"
    RUNNING = "running"
    LAME_DUCK = "lame duck"
    STOPPING = "stopping"


# How nats-server names the signals it traps, in its log.
_SIGNAL_NAMES = {signal.SIGINT: "interrupt", signal.SIGTERM: "terminated", signal.SIGHUP: "hangup",
                 signal.SIGUSR1: "user defined signal 1", signal.SIGUSR2: "user defined signal 2"}


def _fixed(setting: object) -> object:
    """A setting as reload compares it: the leafnodes block less the remotes' drain rates, the resolver
    less its preloaded JWTs (the two settings with a `fixed()`)."""
    fixed = getattr(setting, "fixed", None)
    return fixed() if fixed is not None else setting


def new_server_id() -> str:
    # Shaped like nats-server's ids (56 chars, 'N' prefix, base32); uniqueness is all clients need.
    return "N" + base64.b32encode(os.urandom(35)).decode()[:55]


def build_authenticator(options: Options, resolver: AccountResolver | None = None) -> Authenticator:
    """The logins `options` allow; in operator mode user JWTs whose accounts `resolver` serves."""
    # As nats-server: with TLS on the client port, the auth timeout (unless set) is the TLS timeout plus 1 s.
    default_timeout = options.tls.timeout + 1.0 if options.tls is not None else DEFAULT_AUTH_TIMEOUT
    jwt_login = None
    if options.operators is not None and resolver is not None:
        # Imported in operator mode only, like the nkey code: other brokers stay smaller.
        from edgenats.auth.jwt_login import JwtLogin

        jwt_login = JwtLogin(options.operators, resolver)
    try:
        return Authenticator.from_config(
            options.authorization, options.accounts, options.no_auth_user,
            cli_user=options.user, cli_password=options.password, cli_token=options.token,
            default_timeout=default_timeout, jwt_login=jwt_login,
        )
    except AuthConfigError as error:
        raise OptionsError("\n".join(block_errors(options, error))) from None


def build_account_resolver(options: Options) -> AccountResolver | None:
    """Operator mode's account resolver; None outside it (and the resolver code not loaded)."""
    if options.operators is None or not options.resolver:
        return None
    from edgenats.auth.account_resolver import build_resolver

    return build_resolver(options.resolver)


def rebuilt_resolver(resolver: AccountResolver | None, settings: ResolverSettings) -> AccountResolver:
    """A reload's resolver when its settings changed: made again, except a directory resolver, which
    stays (its folder takes the new preloads: `stored_preloads`)."""
    from edgenats.auth.account_resolver import build_resolver
    from edgenats.auth.dir_resolver import DirectoryResolver

    return resolver if isinstance(resolver, DirectoryResolver) else build_resolver(settings)


def stored_preloads(resolver: AccountResolver | None, settings: ResolverSettings) -> list[str]:
    """After a reload that changed the resolver's settings: the accounts whose JWT the new preloads
    replaced in a directory resolver's folder (none for other resolvers)."""
    from edgenats.auth.account_resolver import store_preloads
    from edgenats.auth.dir_resolver import DirectoryResolver

    return store_preloads(resolver, settings.preload) if isinstance(resolver, DirectoryResolver) else []


def build_jwt_accounts(server: Server) -> JwtAccounts:
    """Operator mode's live accounts, their claims read through the resolver as logins read them."""
    from edgenats.auth.jwt_login import JwtLogin
    from edgenats.jwt_accounts import JwtAccounts

    def claims(key: str) -> dict | None:
        # The resolver of the moment: a reload may make a MEMORY resolver again.
        return JwtLogin(server.options.operators, server.account_resolver).account_claims(key)

    return JwtAccounts(server.account_settings, server.account, server.imports, claims, lambda: server.jetstream,
                       server.loop)


def build_client_tls(options: Options) -> ClientTLS | None:
    """The client port's TLS, its certificate files read now (at start and on every reload)."""
    if options.tls is None:
        return None
    try:
        return ClientTLS(options.tls, allow_non_tls=options.allow_non_tls)
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
    # What a user JWT's `allowed_connection_types` must name for this port's clients (WebSocket's host: WEBSOCKET).
    connection_type = STANDARD

    def __init__(self, options: Options) -> None:
        self.options = options
        self.server_id = new_server_id()
        self.server_name = options.server_name or self.server_id
        self.loop = asyncio.get_running_loop()
        self.start_time = time.time()
        self.config_load_time = self.start_time
        # Operator mode: where account JWTs come from.
        self.account_resolver = build_account_resolver(options)
        self.authenticator = build_authenticator(options, self.account_resolver)
        self.login_guard = LoginGuard(options.max_pending_connects, options.auth_failure_delay)
        self.client_tls = build_client_tls(options)
        self.accounts: dict[str, Account] = {}
        # Each account's exports, imports and limits: the `accounts` block's, or in operator mode those
        # of the account JWTs logins brought (load_jwt_account).
        self.account_settings: dict[str, AccountSettings] = (
            dict(options.account_settings) if options.operators is None else {})
        self.global_account = self.account(GLOBAL_ACCOUNT)
        self.system_account = self.account(options.system_account)
        self.system: SystemAccount | None = None
        self.jetstream: JetStream | None = None
        self.imports = Imports(self.account, self.loop)
        self.imports.apply(self.account_settings)
        self.jwt_accounts = build_jwt_accounts(self) if options.operators is not None else None
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
        self.state = ServerState.STARTING
        self._listener: Listener | None = None
        self._stopped = asyncio.Event()
        self._lame_duck: asyncio.Task | None = None
        self.notifier = SystemdNotifier.from_environment()
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

    def load_jwt_account(self, claims: dict) -> Account:
        """Operator mode: the account an account JWT's (checked) claims describe, loaded or updated from
        them (jwt_accounts.py; raises account_claims.AccountClaimsError when they cannot be applied)."""
        return self.jwt_accounts.load(claims)

    def accepting(self) -> bool:
        return self.state is ServerState.RUNNING

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
            connection.account.name, user.name if user else "", user.jwt if user else None,
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
        return self.options.port if self._listener is None else self._listener.port

    def _refresh_info(self) -> None:
        options = self.options
        info = {
            "server_id": self.server_id,
            "server_name": self.server_name,
            "version": NATS_COMPAT_VERSION,
            "proto": 1,
            "go": f"python{sys.version.split()[0]} edgenats/{__version__}",
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
        """`connection` has queued output: write it once, when the read being handled ends (as nats-server
        flushes after each read), or after this loop turn when queued outside a read (timers, the store)."""
        self._dirty.append(connection)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush_dirty)

    def read_begins(self) -> None:
        """A read is being handled: what it queues is written when it ends (`read_ends`), not a loop
        turn later."""
        self._flush_scheduled = True

    def read_ends(self) -> None:
        self._flush_dirty()

    def _flush_dirty(self) -> None:
        self._flush_scheduled = False
        if not self._dirty:
            return  # (most reads of a publisher with no receiver queue nothing)
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
            sock = bind_listening_socket(host, max(options.port, 0))
        self._listener = Listener(self.loop, "Client", sock, self._accept_client)
        self._refresh_info()  # with the port the system picked for `-p -1`
        if options.pid_file:
            with open(options.pid_file, "w") as pid_file:
                pid_file.write(str(os.getpid()))
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
            from edgenats.monitor.server import MonitorServer

            self._monitor = MonitorServer(self)
            await self._monitor.start(options.http_host, options.http_port)
            log.info("Starting http monitor on %s:%d", options.http_host, options.http_port)
        if options.jetstream.enabled:
            from edgenats.jetstream.service import JetStream

            self.jetstream = JetStream(options.jetstream, self.server_name)
            self.jetstream.start(self.account, self.account_settings, options.system_account,
                                 from_jwts=options.operators is not None)
        self._keepalive_sweep()
        if self.leafnodes is not None:
            await self.leafnodes.start()
        if self.websocket is not None:
            await self.websocket.start()
        # Signals are handled before the client port answers: a test (or an operator's script) that
        # sends SIGHUP as soon as it can connect must get a reload, not the default action (exit).
        actions = {signal.SIGINT: self.request_stop, signal.SIGTERM: self.request_stop, signal.SIGHUP: self.reload,
                   signal.SIGUSR1: self.reopen_log, signal.SIGUSR2: self.enter_lame_duck}
        for sig, action in actions.items():
            self.loop.add_signal_handler(sig, self._trapped, sig, action)
        self._listener.start()
        log.info("Listening for client connections on %s", describe_address(options.host, self.client_port))
        if self.client_tls is not None:
            log.info("TLS %s for client connections", "available" if self.client_tls.allow_non_tls else "required")
        self.state = ServerState.RUNNING
        log.info("Server is ready")
        if self.notifier is not None:
            self.notifier.ready(f"Accepting client connections on {options.host}:{options.port}")
            self.notifier.start_watchdog(self.loop)

    def _trapped(self, sig: signal.Signals, action) -> None:
        log.info('Trapped "%s" signal', _SIGNAL_NAMES[sig])
        action()

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

    def enter_lame_duck(self) -> None:
        """SIGUSR2: stop accepting, tell the clients, close them spread over the lame-duck duration, stop."""
        if self.state is not ServerState.RUNNING:
            return
        self.state = ServerState.LAME_DUCK
        log.info("Entering lame duck mode, stop accepting new clients")
        if self.notifier is not None:
            self.notifier.stopping("Lame duck mode: closing clients")
        self._stop_accepting()
        self._lame_duck = self.loop.create_task(self._run_lame_duck())

    async def _run_lame_duck(self) -> None:
        options = self.options
        await run_lame_duck(list(self.connections.values()), self._tell_lame_duck, options.lame_duck_duration,
                            options.lame_duck_grace_period)
        self.request_stop()

    def _tell_lame_duck(self) -> None:
        """The INFO nats-server sends each client able to take one after its CONNECT: `"ldm": true`."""
        for connection in self.connections.values():
            if (isinstance(connection, ClientConnection) and connection.login is LoginState.CONNECTED
                    and connection.protocol_level >= 1):
                # The INFO of the port it came in on (WebSocket clients: their host's), without a nonce.
                info = connection.server.client_info(connection)
                info.pop("nonce", None)
                info["ldm"] = True
                connection.send(info_line(info))

    def _stop_accepting(self) -> None:
        if self._listener is not None:
            self._listener.close()
        if self.websocket is not None:
            self.websocket.stop()

    def reopen_log(self) -> None:
        """SIGUSR1 (logrotate moved the file): write to a new file at the configured path."""
        options = self.options
        if not options.log_file:
            log.info("File log re-open ignored, not a file logger")
            return
        configure_logging(options.debug, options.trace, options.logtime, options.log_file)
        log.info("File log re-opened")

    async def shutdown(self) -> None:
        self.state = ServerState.STOPPING
        if self._lame_duck is not None and not self._lame_duck.done():
            self._lame_duck.cancel()
        if self.notifier is not None:
            self.notifier.stopping("Stopping")
        log.info("Initiating Shutdown...")
        self._stop_accepting()
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
        if self.notifier is not None:
            self.notifier.close()

    def reload(self) -> None:
        """SIGHUP: re-read the config; apply auth, client TLS (certificate files read again), imports, limits
        (JetStream's too) and log level; refuse fixed settings."""
        old = self.options
        log.info("Reloading server configuration")
        if self.notifier is not None:
            self.notifier.reloading()
        try:
            self._reload(old)
        finally:
            if self.notifier is not None:
                self.notifier.ready("Configuration reloaded" if self.options is not old else
                                    "Configuration reload failed; running the previous one")

    def _reload(self, old: Options) -> None:
        try:
            new = load_options(old.config_file, old.flag_overrides)
            changed_fixed = [name for name in NOT_RELOADABLE
                             if _fixed(getattr(new, name)) != _fixed(getattr(old, name))]
            if changed_fixed:
                raise OptionsError(f"config reload not supported for {', '.join(changed_fixed)}")
            if self.jetstream is not None and new.operators is None and not self.jetstream.reloadable(
                    new.account_settings, new.system_account):
                raise OptionsError("config reload not supported for turning JetStream on or off in an account")
            # The resolver is made again only when its settings changed (a MEMORY preload may); a
            # directory resolver stays, its folder taking the new preloads below.
            resolver = self.account_resolver
            resolver_changed = new.resolver != old.resolver
            if resolver_changed:
                resolver = rebuilt_resolver(resolver, new.resolver)
            authenticator = build_authenticator(new, resolver)
            client_tls = build_client_tls(new)
        except OptionsError as error:
            log.error("Failed to reload server configuration: %s", error)
            return
        self.options = new
        self.account_resolver = resolver
        if new.operators is None:
            self.account_settings = dict(new.account_settings)
        self.tracing = new.trace
        self.authenticator = authenticator
        self.login_guard.configure(new.max_pending_connects, new.auth_failure_delay)
        # New connections get the new TLS settings and certificate; open ones keep their session.
        self.client_tls = client_tls
        self.config_load_time = time.time()
        configure_logging(new.debug, new.trace, new.logtime, new.log_file)
        self._refresh_info()
        if resolver_changed:
            for key in stored_preloads(resolver, new.resolver):
                self.jwt_accounts.changed(key)
        if self.jwt_accounts is not None:
            self.jwt_accounts.run_imports()
        else:
            self.imports.apply(self.account_settings)
        if self.leafnodes is not None:
            self.leafnodes.apply_reload(new.leafnodes)
        if self.jetstream is not None and new.operators is None:
            # In operator mode each account's JetStream limits are its JWT's.
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
