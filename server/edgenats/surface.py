"""The server's public surface: what the subsystems the Server wires (leaf nodes, monitoring, the
system account) read and call on it, and the record it keeps of closed connections. `server.Server`
provides it; those subsystems import this module, never server.py, so imports run one way: the
server knows its subsystems, they know only its surface."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from edgenats.account import Account
    from edgenats.account_config import AccountSettings
    from edgenats.auth import Authenticator
    from edgenats.auth.account_resolver import AccountResolver
    from edgenats.auth.identity import JwtIdentity
    from edgenats.options import Options


@dataclass
class ClosedConnection:
    """What monitoring reports about a connection after it is gone."""

    cid: int
    kind: str
    host: str
    port: int
    start: float
    stop: float
    reason: str
    name: str
    lang: str
    version: str
    in_msgs: int
    out_msgs: int
    in_bytes: int
    out_bytes: int
    account: str
    user: str
    # What a user JWT login showed (operator mode), for /connz's jwt, issuer_key and name_tag.
    jwt: JwtIdentity | None = None


class ServerSurface(Protocol):
    options: Options
    server_id: str
    server_name: str
    loop: asyncio.AbstractEventLoop
    start_time: float
    config_load_time: float
    # Read at use: a reload replaces it.
    authenticator: Authenticator
    # The client port's TLS (None without); a reload replaces it.
    client_tls: Any
    # The INFO fields every client gets.
    base_info: dict
    accounts: dict[str, Account]
    system_account: Account
    # Each account's exports, imports and limits (the `accounts` block's, or in operator mode those the
    # account JWTs of logins brought); a reload replaces it outside operator mode.
    account_settings: dict[str, AccountSettings]
    # Operator mode: where account JWTs come from (None otherwise); a reload may replace it.
    account_resolver: AccountResolver | None
    # What a user JWT's `allowed_connection_types` must name for the clients of this host.
    connection_type: str
    # Open client connections by connection id; then the last ones closed (leaf links included).
    connections: dict[int, Any]
    closed_connections: deque[ClosedConnection]
    total_connections: int
    slow_consumers: int
    leaf_slow_consumers: int
    stale_connections: int
    # Operator mode: the live accounts account JWTs make (jwt_accounts.JwtAccounts; None otherwise).
    jwt_accounts: Any
    # The subsystems, for one another; None when not configured (or not started yet).
    leafnodes: Any
    system: Any
    jetstream: Any

    @property
    def monitor(self) -> Any: ...

    def account(self, name: str) -> Account:
        """The account of that name, created on first use."""

    def load_jwt_account(self, claims: dict) -> Account:
        """Operator mode: the account of checked account JWT claims, its settings made or refreshed."""

    def accepting(self) -> bool:
        """Whether the client port accepts connections (not while starting, in lame duck or stopping)."""

    def mark_dirty(self, connection: Any) -> None:
        """`connection` has queued output: flush it once, after this loop turn's input."""

    def record_closed(self, connection: Any) -> None:
        """Keep a closed connection's counters in the totals and the closed list."""

    def settle_counters(self) -> None:
        """Bring every delivery counter up to date before reading one."""

    def totals(self) -> dict[str, int]:
        """in_msgs, out_msgs, in_bytes, out_bytes over every connection and link, open and closed."""

    def subscription_count(self) -> int: ...

    def client_info(self, connection: Any, connect_info: bool = False) -> dict:
        """The INFO a client connection gets (with `connect_info`, the one after its CONNECT)."""
