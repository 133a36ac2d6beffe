"""The `websocket { ... }` block in nats-server syntax: where the WebSocket listener binds, TLS or
`no_tls`, compression, origin checks, its own authorization override and the handshake timeout.

Validation happens here, with nats-server's rules (TLS unless `no_tls: true`, origins must be
http(s) URLs with a host), so a bad block is refused at start-up naming the key that is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgenats.conf.units import parse_duration
from edgenats.leafnode.config import TLSSettings, parse_tls

DEFAULT_HOST = "0.0.0.0"
_NS_PER_S = 1_000_000_000
_NOT_SUPPORTED = {
    "jwt_cookie": "JWT authentication",
    "user_cookie": "authentication cookies",
    "pass_cookie": "authentication cookies",
    "token_cookie": "authentication cookies",
    "advertise": "advertised WebSocket URLs (there is no cluster to advertise to)",
    "headers": "extra upgrade response headers",
    "ping_interval": "a WebSocket-specific ping interval",
}


@dataclass(frozen=True)
class Origin:
    """An allowed origin as nats-server compares it: scheme, lower-case host, port (80/443 when absent)."""

    scheme: str
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Origin | None:
        """The origin in an `Origin` header or an `allowed_origins` entry; None when it cannot be read."""
        from urllib.parse import urlsplit  # with allowed origins only

        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            return None
        if not parts.scheme or not parts.hostname:
            return None
        scheme = parts.scheme.lower()
        return cls(scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80))


@dataclass(frozen=True)
class WebSocketSettings:
    host: str = DEFAULT_HOST
    port: int = 0
    no_tls: bool = False
    tls: TLSSettings | None = None
    compression: bool = False
    same_origin: bool = False
    allowed_origins: tuple[str, ...] = ()
    # The authorization override: a single user or a token for WebSocket clients only.
    user: str = ""
    password: str = ""
    token: str = ""
    auth_timeout: float = 0.0
    no_auth_user: str = ""
    # 0: no limit on the HTTP upgrade (nats-server's default).
    handshake_timeout: float = 0.0

    @property
    def auth_override(self) -> bool:
        """nats-server's rule: a user, a token or a no_auth_user here replaces the server's auth for WebSocket."""
        return bool(self.user or self.token or self.no_auth_user)

    def origins(self) -> frozenset[Origin]:
        return frozenset(Origin.parse(text) for text in self.allowed_origins)

    def varz(self) -> dict:
        """The `websocket` block of /varz, with nats-server's names (empty fields left out, as it does)."""
        fields = {
            "host": self.host,
            "port": self.port,
            "no_auth_user": self.no_auth_user,
            "handshake_timeout": round(self.handshake_timeout * _NS_PER_S),
            "auth_timeout": self.auth_timeout,
            "no_tls": self.no_tls,
            "same_origin": self.same_origin,
            "allowed_origins": list(self.allowed_origins),
            "compression": self.compression,
        }
        return {key: value for key, value in fields.items() if value}


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where} must be true or false, got {value!r}")
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where} must be a string, got {value!r}")
    return value


def _port(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -1 <= value <= 65535:
        raise ValueError(f"{where} must be a port number (-1 for one the system picks)")
    return value


def _seconds(value: object, where: str) -> float:
    try:
        seconds = parse_duration(value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{where}: {error}") from None
    if seconds < 0:
        raise ValueError(f"{where} must not be negative")
    return seconds


def _origins(value: object, where: str) -> tuple[str, ...]:
    entries = (value,) if isinstance(value, str) else value
    if not isinstance(entries, list | tuple):
        raise ValueError(f"{where} must be a list of URLs")
    for entry in entries:
        text = _text(entry, where)
        origin = Origin.parse(text)
        if origin is None or origin.scheme not in ("http", "https"):
            raise ValueError(f"{where}: unable to parse allowed origin {text!r}: allowed origins must be "
                             f"absolute URLs with http or https scheme and a host")
    return tuple(entries)


def _authorization(block: object, where: str) -> dict:
    if not isinstance(block, dict):
        raise ValueError(f"{where} must be a block {{ ... }}")
    values: dict = {}
    for key, value in block.items():
        name = str(key).lower()
        if name in ("user", "username"):
            values["user"] = _text(value, f"{where}.{name}")
        elif name in ("pass", "password"):
            values["password"] = _text(value, f"{where}.{name}")
        elif name == "token":
            values["token"] = _text(value, f"{where}.{name}")
        elif name == "timeout":
            values["auth_timeout"] = _seconds(value, f"{where}.{name}")
        else:
            raise ValueError(f"{where}: {name!r} is not supported here (a user and password, or a token)")
    if values.get("token") and values.get("user"):
        raise ValueError(f"{where}: a token cannot be combined with a user")
    return values


def parse_websocket(block: object) -> WebSocketSettings:
    """The whole `websocket` block; raises ValueError naming the offending key."""
    if not isinstance(block, dict):
        raise ValueError("websocket must be a block { ... }")
    values: dict = {}
    for key, value in block.items():
        name = str(key).lower()
        where = f"websocket.{name}"
        if name == "listen":
            text = str(value)
            host, sep, port_text = text.rpartition(":")
            if not sep or not port_text.lstrip("-").isdigit():
                raise ValueError(f"{where} must be host:port, got {value!r}")
            values["host"] = host.strip("[]") or DEFAULT_HOST
            values["port"] = _port(int(port_text), where)
        elif name == "port":
            values["port"] = _port(value, where)
        elif name in ("host", "net"):
            values["host"] = _text(value, where)
        elif name == "no_tls":
            values["no_tls"] = _bool(value, where)
        elif name == "tls":
            values["tls"] = parse_tls(value, where)
        elif name in ("compression", "compress"):
            values["compression"] = _bool(value, where)
        elif name == "same_origin":
            values["same_origin"] = _bool(value, where)
        elif name in ("allowed_origins", "allowed_origin", "allow_origins", "allow_origin", "origins", "origin"):
            values["allowed_origins"] = _origins(value, where)
        elif name in ("authorization", "authentication"):
            values.update(_authorization(value, where))
        elif name == "no_auth_user":
            values["no_auth_user"] = _text(value, where)
        elif name == "handshake_timeout":
            values["handshake_timeout"] = _seconds(value, where)
        elif name in _NOT_SUPPORTED:
            raise ValueError(f"{where}: {_NOT_SUPPORTED[name]} is not supported by edgenats")
        else:
            raise ValueError(f"websocket: unknown setting {name!r}")
    settings = WebSocketSettings(**values)
    if settings.port and settings.tls is None and not settings.no_tls:
        raise ValueError("websocket requires TLS configuration (a tls block, or no_tls: true for plain ws://)")
    if settings.tls is not None and not (settings.tls.cert_file and settings.tls.key_file):
        raise ValueError("websocket.tls: a listener needs cert_file and key_file")
    return settings
