"""Every broker setting, its default and its validation, built from a config file and/or flags.

Config keys follow nats-server (case-insensitive, with its aliases). A key nats-server knows but
edgenats does not implement is refused by name; an unknown key is refused too. Errors name the file
and line of the offending key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgenats.account_config import AccountSettings, parse_accounts
from edgenats.client_tls_settings import ClientTLSSettings, parse_client_tls, tls_from_flags
from edgenats.conf import ConfigError, ConfigMap, load_config
from edgenats.conf.units import parse_duration, parse_size, positive_duration
from edgenats.jetstream.settings import JetStreamSettings, parse_jetstream
from edgenats.leafnode.config import LeafNodeSettings, parse_leafnodes
from edgenats.websocket.config import WebSocketSettings, parse_websocket

DEFAULT_PORT = 4222
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
    jetstream: JetStreamSettings = field(default_factory=JetStreamSettings)
    no_auth_user: str | None = None
    # The account the server answers requests and publishes events in ($SYS exists even when unnamed).
    system_account: str = DEFAULT_SYSTEM_ACCOUNT
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
                  "websocket", "jetstream", "pid_file")


class OptionsError(Exception):
    """A setting that cannot be used; the message names where it came from."""


_NOT_IMPLEMENTED = {
    "cluster": "clustering (edge sites join a real NATS cluster through leaf nodes instead)",
    "gateway": "gateways",
    "gateways": "gateways",
    "mqtt": "MQTT",
    "allow_non_tls": "plain-text clients on a TLS client port",
    "operator": "operator/JWT mode",
    "operators": "operator/JWT mode",
    "resolver": "operator/JWT mode",
    "https": "HTTPS monitoring",
    "https_port": "HTTPS monitoring",
    "server_tags": "server tags",
}

LAME_DUCK_MINIMUM = 30.0


def _position(config: ConfigMap, key: str, fallback: str) -> str:
    position = config.position_of(key) if isinstance(config, ConfigMap) else None
    if position is None:
        return fallback
    return f"{position.filename}:{position.line}"


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
    if not 0 <= port <= 65535:
        raise ValueError(f"{what}: port {port} is out of range 0-65535")
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
        options.leafnodes = parse_leafnodes(value)
    elif key in ("system_account", "system"):
        options.system_account = _as_str(value, key)
    elif key in ("websocket", "ws"):
        options.websocket = parse_websocket(value)
    elif key == "jetstream":
        options.jetstream = parse_jetstream(value)
    elif key == "tls":
        options.tls = parse_client_tls(value)
    elif key == "no_auth_user":
        options.no_auth_user = _as_str(value, key)
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
        raise ValueError(f"unknown configuration key '{key}'")


def options_from_config(config: ConfigMap, filename: str) -> Options:
    options = Options(config_file=filename)
    for key, value in config.items():
        try:
            _apply_key(options, key.lower(), value)
        except ValueError as error:
            raise OptionsError(f"{_position(config, key, filename)}: {error}") from None
    validate(options, filename)
    return options


def validate(options: Options, origin: str) -> None:
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
    if options.system_account != DEFAULT_SYSTEM_ACCOUNT and options.system_account not in (options.accounts or {}):
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
    validate(options, config_file or "flags")
    return options
