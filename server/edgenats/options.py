"""Every broker setting, its default and its validation, built from a config file and/or flags.

Config keys follow nats-server (case-insensitive, with its aliases). A key nats-server knows but
edgenats does not implement is refused by name; an unknown key is refused too. Errors name the file
and line of the offending key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from edgenats.account_config import AccountSettings, parse_accounts
from edgenats.auth import AuthConfigError
from edgenats.auth.config import parse_auth_settings
from edgenats.client_tls_settings import ClientTLSSettings, parse_client_tls, tls_from_flags
from edgenats.conf import ConfigError, ConfigMap, Position, load_config, locate_message
from edgenats.conf.units import parse_duration, parse_size, positive_duration
from edgenats.jetstream.settings import JetStreamSettings, parse_jetstream

if TYPE_CHECKING:
    from edgenats.auth.account_resolver import ResolverSettings
    from edgenats.auth.operator import TrustedOperators
    from edgenats.leafnode.config import LeafNodeSettings
    from edgenats.websocket.config import WebSocketSettings

DEFAULT_PORT = 4222
# nats-server's port -1: the system picks a free port (reported in INFO, /varz and the banner).
RANDOM_PORT = -1
DEFAULT_SYSTEM_ACCOUNT = "$SYS"
MB = 1024 * 1024
MAX_PAYLOAD_LIMIT = 999_999_999


@dataclass
class Options:
    host: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    server_name: str = ""
    # The monitor listens on the client host unless `http: host:port` names another (as nats-server).
    http_host: str | None = None
    http_port: int = 0
    # An edgenats extension: the monitoring port asks for this user and password (HTTP Basic); "": open.
    http_user: str = ""
    http_password: str = ""
    max_payload: int = MB
    max_connections: int = 65536
    max_control_line: int = 4096
    max_pending: int = 64 * MB
    max_subscriptions: int = 0
    ping_interval: float = 120.0
    ping_max: int = 2
    # edgenats extensions (auth/login_guard.py): connections waiting for their CONNECT at once, and the
    # delay before answering a repeated failed login from one address.
    max_pending_connects: int = 256
    auth_failure_delay: float = 1.0
    write_deadline: float = 10.0
    # Lame-duck mode (SIGUSR2): clients are told at once, closed after the grace period, spread over the
    # rest of the duration (nats-server's defaults and minimum).
    lame_duck_duration: float = 120.0
    lame_duck_grace_period: float = 10.0
    # Where the process id is written at start (`pid_file`, -P).
    pid_file: str | None = None
    authorization: dict | None = None
    accounts: dict | None = None
    # Exports, imports and limits of the `accounts` block (its users are read by edgenats.auth).
    account_settings: dict[str, AccountSettings] = field(default_factory=dict)
    leafnodes: LeafNodeSettings | None = None
    websocket: WebSocketSettings | None = None
    # TLS on the client port (the top-level `tls` block or the --tls* flags).
    tls: ClientTLSSettings | None = None
    # With `tls`: plain-text clients are served too (top level, as nats-server 2.15 reads it).
    allow_non_tls: bool = False
    jetstream: JetStreamSettings = field(default_factory=JetStreamSettings)
    no_auth_user: str | None = None
    # The account the server answers requests and publishes events in ($SYS exists even when unnamed);
    # in operator mode a public account key, the operator JWT's unless the config names it.
    system_account: str = DEFAULT_SYSTEM_ACCOUNT
    # Operator mode (auth/operator.py, auth/account_resolver.py): trusted operator JWTs and where
    # account JWTs come from.
    operators: TrustedOperators | None = None
    resolver: ResolverSettings | None = None
    user: str | None = None
    password: str | None = None
    token: str | None = None
    debug: bool = False
    trace: bool = False
    logtime: bool = True
    log_file: str | None = None
    config_file: str | None = None
    # Settings given as flags; they win over the file at start and on every reload (-js and -sd
    # are kept here as "jetstream_enabled" and "store_dir" and applied to `jetstream`, the --tls*
    # flags as "tls", "tls_cert", "tls_key", "tls_ca_cert", "tls_verify" and applied to `tls`).
    flag_overrides: dict[str, Any] = field(default_factory=dict)

    def with_flags(self) -> Options:
        return dataclasses.replace(self, **{key: value for key, value in self.flag_overrides.items()
                                            if key not in _JETSTREAM_FLAGS + _TLS_FLAGS})


_JETSTREAM_FLAGS = ("jetstream_enabled", "store_dir")
_TLS_FLAGS = ("tls", "tls_cert", "tls_key", "tls_ca_cert", "tls_verify")


def jetstream_flags(settings: JetStreamSettings, flags: dict[str, Any]) -> JetStreamSettings:
    """-js enables JetStream; -sd sets the store folder (and, as in nats-server, does not enable it)."""
    changes = {}
    if flags.get("jetstream_enabled"):
        changes["enabled"] = True
    if flags.get("store_dir"):
        changes["store_dir"] = flags["store_dir"]
    return dataclasses.replace(settings, **changes)


# Fields that a SIGHUP reload may not change (nats-server refuses these too).
NOT_RELOADABLE = ("host", "port", "http_host", "http_port", "server_name", "leafnodes", "system_account",
                  "websocket", "jetstream", "operators", "resolver", "pid_file")


class UnknownKeyError(ValueError):
    """A top-level key that is no setting."""


class OptionsError(Exception):
    """A setting that cannot be used; the message names where it came from."""


_NOT_IMPLEMENTED = {
    "cluster": "clustering (edge sites join a real NATS cluster through leaf nodes instead)",
    "gateway": "gateways",
    "gateways": "gateways",
    "mqtt": "MQTT",
    "trusted": "trusted keys without operator JWTs",
    "trusted_keys": "trusted keys without operator JWTs",
    "resolver_tls": "URL account resolvers",
    "resolver_pinned_accounts": "pinned accounts",
    "https": "HTTPS monitoring",
    "https_port": "HTTPS monitoring",
    "server_tags": "server tags",
}

LAME_DUCK_MINIMUM = 30.0


def _as_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    return value


def _as_size(value: Any, what: str) -> int:
    try:
        size = parse_size(value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{what}: {error}") from None
    if size < 0:
        raise ValueError(f"{what} must not be negative")
    return size


def _as_delay(value: Any, what: str) -> float:
    """A duration that may be zero (off)."""
    try:
        seconds = parse_duration(value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{what}: {error}") from None
    if seconds < 0:
        raise ValueError(f"{what} must not be negative")
    return seconds


def _lame_duck_duration(value: Any) -> float:
    try:
        seconds = parse_duration(value)
    except (ValueError, TypeError):
        raise ValueError("error parsing lame_duck_duration: time: invalid duration") from None
    if seconds < LAME_DUCK_MINIMUM:
        shown = value if isinstance(value, str) else f"{value}s"
        raise ValueError(f"invalid lame_duck_duration of {shown}, minimum is 30 seconds")
    return seconds


def _lame_duck_grace_period(value: Any) -> float:
    try:
        seconds = parse_duration(value)
    except (ValueError, TypeError):
        raise ValueError("error parsing lame_duck_grace_period: time: invalid duration") from None
    if seconds < 0:
        raise ValueError("invalid lame_duck_grace_period, needs to be positive")
    return seconds


def _as_bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{what} must be true or false, got {value!r}")
    return value


def _as_str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {value!r}")
    return value


def _as_map(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a block {{ ... }}")
    return value


def split_host_port(value: Any, what: str) -> tuple[str | None, int]:
    """`host:port`, `:port` or a bare port number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return None, _valid_port(value, what)
    text = _as_str(value, what)
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"{what} must be host:port, got {text!r}")
    return (host.strip("[]") or None), _valid_port(int(port_text), what)


def _valid_port(port: int, what: str) -> int:
    if not (port == RANDOM_PORT or 0 <= port <= 65535):
        raise ValueError(f"{what}: port {port} is out of range 0-65535 (or -1 for one the system picks)")
    return port


def _apply_key(options: Options, key: str, value: Any) -> None:
    if key == "listen":
        host, options.port = split_host_port(value, "listen")
        options.host = host or options.host
    elif key == "port":
        options.port = _valid_port(_as_int(value, "port"), "port")
    elif key in ("host", "net"):
        options.host = _as_str(value, key)
    elif key == "server_name":
        options.server_name = _as_str(value, key)
    elif key in ("http", "monitor"):
        host, options.http_port = split_host_port(value, key)
        options.http_host = host or options.http_host
    elif key in ("http_port", "monitor_port"):
        options.http_port = _valid_port(_as_int(value, key), key)
    elif key == "http_user":
        options.http_user = _as_str(value, key)
    elif key == "http_password":
        options.http_password = _as_str(value, key)
    elif key == "max_payload":
        options.max_payload = _as_size(value, key)
    elif key in ("max_connections", "max_conn"):
        options.max_connections = _as_int(value, key)
    elif key == "max_control_line":
        options.max_control_line = _as_size(value, key)
    elif key == "max_pending":
        options.max_pending = _as_size(value, key)
    elif key in ("max_subscriptions", "max_subs"):
        options.max_subscriptions = _as_int(value, key)
    elif key == "ping_interval":
        options.ping_interval = positive_duration(value, key)
    elif key == "ping_max":
        options.ping_max = _as_int(value, key)
    elif key == "write_deadline":
        options.write_deadline = positive_duration(value, key)
    elif key == "lame_duck_duration":
        options.lame_duck_duration = _lame_duck_duration(value)
    elif key == "lame_duck_grace_period":
        options.lame_duck_grace_period = _lame_duck_grace_period(value)
    elif key == "pid_file":
        options.pid_file = _as_str(value, key)
    elif key == "max_pending_connects":
        options.max_pending_connects = _as_int(value, key)
    elif key == "auth_failure_delay":
        options.auth_failure_delay = _as_delay(value, key)
    elif key == "authorization":
        options.authorization = _as_map(value, key)
    elif key == "accounts":
        options.accounts = _as_map(value, key)
        options.account_settings = parse_accounts(value)
    elif key in ("leafnodes", "leaf"):
        from edgenats.leafnode.config import parse_leafnodes  # loaded by a config with the block only

        options.leafnodes = parse_leafnodes(value)
    elif key in ("system_account", "system"):
        options.system_account = _as_str(value, key)
    elif key in ("websocket", "ws"):
        from edgenats.websocket.config import parse_websocket  # likewise

        options.websocket = parse_websocket(value)
    elif key == "jetstream":
        options.jetstream = parse_jetstream(value)
    elif key == "tls":
        options.tls = parse_client_tls(value)
    elif key == "allow_non_tls":
        options.allow_non_tls = _as_bool(value, key)
    elif key == "no_auth_user":
        options.no_auth_user = _as_str(value, key)
    elif key in ("operator", "operators", "resolver", "resolver_preload"):
        _apply_operator_key(options, key, value)
    elif key == "debug":
        options.debug = _as_bool(value, key)
    elif key == "trace":
        options.trace = _as_bool(value, key)
    elif key == "logtime":
        options.logtime = _as_bool(value, key)
    elif key in ("log_file", "logfile"):
        options.log_file = _as_str(value, key)
    elif key in _NOT_IMPLEMENTED:
        raise ValueError(f"'{key}': {_NOT_IMPLEMENTED[key]} is not supported by edgenats")
    else:
        raise UnknownKeyError(f"unknown configuration key '{key}'")


def _apply_operator_key(options: Options, key: str, value: Any) -> None:
    # Operator mode's code is loaded only by a config that uses it.
    from edgenats.auth.account_resolver import ResolverSettings, parse_preload, parse_resolver
    from edgenats.auth.operator import read_operators

    resolver = options.resolver or ResolverSettings()
    try:
        if key in ("operator", "operators"):
            options.operators = read_operators(value)
        elif key == "resolver":
            kind, directory = parse_resolver(value)
            options.resolver = dataclasses.replace(resolver, kind=kind, directory=directory)
        else:
            options.resolver = dataclasses.replace(resolver, preload=parse_preload(value))
    except AuthConfigError as error:
        raise ValueError(str(error)) from None


def _validate_operator_mode(options: Options, origin: str) -> None:
    """What nats-server refuses with trusted operators, and the system account they name."""
    operators = options.operators
    if operators is None:
        return
    from edgenats.auth.jwt_codec import decode_jwt

    if options.resolver is None:
        raise OptionsError(f"{origin}: operators require an account resolver to be configured")
    if options.accounts:
        raise OptionsError(f"{origin}: operators do not allow Accounts to be configured directly")
    authorization = {str(key).lower(): value for key, value in (options.authorization or {}).items()}
    if authorization.get("users"):
        raise OptionsError(f"{origin}: operators do not allow users to be configured directly")
    websocket = options.websocket
    if options.no_auth_user or (websocket is not None and websocket.no_auth_user):
        raise OptionsError(f"{origin}: no_auth_user not compatible with Trusted Operator")
    leafnodes = options.leafnodes
    leaf_authorization = {str(key).lower(): value for key, value in
                          ((leafnodes.authorization if leafnodes is not None else None) or {}).items()}
    if leaf_authorization.get("users"):
        raise OptionsError(f"{origin}: operator mode does not allow specifying users in leafnode config")
    # Not built yet: leaf links logging in with user JWTs; and
    # nats-server would ignore a WebSocket user or token beside the operator (clients need a JWT).
    if leafnodes is not None and leafnodes.listen:
        raise OptionsError(f"{origin}: leafnodes: accepting leaf connections in operator mode is not supported "
                           "by edgenats (remotes are)")
    if websocket is not None and websocket.auth_override:
        raise OptionsError(f"{origin}: websocket: a user or token of its own is not used in operator mode "
                           "(clients log in with a user JWT); remove it")
    named = operators.system_account
    if options.system_account == DEFAULT_SYSTEM_ACCOUNT and named:
        options.system_account = named
    elif named and options.system_account != named:
        raise OptionsError(f"{origin}: system_account in config and operator JWT must be identical")
    # A directory resolver may hold the system account's JWT in its folder, or start without one (nats-server's
    # bootstrapping system account); a preloaded one is checked all the same.
    if options.system_account != DEFAULT_SYSTEM_ACCOUNT:
        if options.system_account not in options.resolver.preload:
            if options.resolver.directory is None:
                raise OptionsError(f"{origin}: error resolving system account: account missing")
            return
        claims = decode_jwt(options.resolver.preload[options.system_account], "account")
        if claims.get("sub") != options.system_account or not operators.trusts(claims["iss"]):
            raise OptionsError(f"{origin}: error resolving system account: account validation failed")


def options_from_config(config: ConfigMap, filename: str) -> Options:
    """The options a parsed config file sets; every wrong key of the file is reported at once, each
    at its file and line."""
    options = Options(config_file=filename)
    errors = []
    for key, value in config.items():
        try:
            _apply_key(options, key.lower(), value)
        except UnknownKeyError as error:
            if key not in config.used_as_variables:  # a variable the config refers to is no setting to check
                errors.append(f"{_where(config.position_of(key), filename)}: {error}")
        except ValueError as error:
            position = locate_message(value, str(error), strip=key) or config.position_of(key)
            errors.append(f"{_where(position, filename)}: {error}")
    if options.authorization is not None or options.accounts is not None:
        try:  # the users' shapes and permissions now, so their errors come with the others
            parse_auth_settings(options.authorization, options.accounts, options.no_auth_user or None)
        except AuthConfigError as error:
            errors += block_errors(options, error)
    if errors:
        raise OptionsError("\n".join(sorted(errors, key=_line_of)))
    validate(options, filename)
    return options


def block_errors(options: Options, error: Exception) -> list[str]:
    """The mistakes an error about the `authorization` or `accounts` block names (one a line), each at
    the file and line it is about."""
    located = []
    for message in str(error).splitlines():
        block_name = message.split(".", 1)[0].split("[", 1)[0].split(":", 1)[0]
        block = {"authorization": options.authorization, "accounts": options.accounts}.get(block_name)
        position = locate_message(block, message, strip=block_name) if block is not None else None
        located.append(f"{_where(position, options.config_file or 'flags')}: {message}")
    return located


def _line_of(error: str) -> int:
    """The line number an error starts with (`file:line: ...`), for reporting a file's errors in order."""
    parts = error.split(":", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0


def _where(position: Position | None, fallback: str) -> str:
    return f"{position.filename}:{position.line}" if position is not None else fallback


def validate(options: Options, origin: str) -> None:
    if bool(options.http_user) != bool(options.http_password):
        raise OptionsError(f"{origin}: http_user and http_password go together")
    if options.max_payload > options.max_pending:
        raise OptionsError(f"{origin}: max_payload ({options.max_payload}) cannot exceed max_pending "
                           f"({options.max_pending})")
    if options.max_payload > MAX_PAYLOAD_LIMIT:
        raise OptionsError(f"{origin}: max_payload cannot exceed {MAX_PAYLOAD_LIMIT} (sizes have at most 9 digits)")
    leafnodes = options.leafnodes
    if leafnodes is not None and options.max_payload > leafnodes.max_pending:
        raise OptionsError(f"{origin}: max_payload ({options.max_payload}) cannot exceed leafnodes max_pending "
                           f"({leafnodes.max_pending})")
    if options.max_control_line <= 0:
        raise OptionsError(f"{origin}: max_control_line must be positive")
    if options.ping_max < 1:
        raise OptionsError(f"{origin}: ping_max must be at least 1")
    if options.max_pending_connects < 1:
        raise OptionsError(f"{origin}: max_pending_connects must be at least 1")
    _validate_operator_mode(options, origin)
    if options.operators is None and options.system_account != DEFAULT_SYSTEM_ACCOUNT \
            and options.system_account not in (options.accounts or {}):
        raise OptionsError(f"{origin}: system_account {options.system_account!r} is not defined in accounts")


def load_options(config_file: str | None, flag_overrides: dict[str, Any]) -> Options:
    """Defaults, then the config file (if any), then flags."""
    if config_file is None:
        options = Options()
    else:
        try:
            config = load_config(config_file)
        except ConfigError as error:
            raise OptionsError(str(error)) from None
        from pathlib import Path  # loaded by the config parser already

        options = options_from_config(config, str(Path(config_file)))
    options.flag_overrides = dict(flag_overrides)
    options = options.with_flags()
    options.jetstream = jetstream_flags(options.jetstream, flag_overrides)
    try:
        options.tls = tls_from_flags(flag_overrides, options.tls)
    except ValueError as error:
        raise OptionsError(str(error)) from None
    if options.http_host is None:
        options.http_host = options.host
    if options.port == 0:
        options.port = DEFAULT_PORT  # as nats-server: 0 is the default port, -1 one the system picks
    try:
        _valid_port(options.port, "port")
    except ValueError as error:
        raise OptionsError(str(error)) from None
    validate(options, config_file or "flags")
    return options
