"""The `leafnodes { ... }` block in nats-server syntax: the accepting listener and the remotes to dial.

Validation happens here so that a bad remote is refused at start-up with the key that is wrong;
the link code only ever sees settings that can be used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from edgenats.conf.units import positive_duration, positive_size
from edgenats.connection import WriteTimeout
from edgenats.leafnode.backlog import DEFAULT_MAX_PENDING

DEFAULT_LEAF_PORT = 7422
DEFAULT_RECONNECT_INTERVAL = 1.0
_SCHEMES = ("nats-leaf", "nats", "tls", "ws", "wss")
_WEBSOCKET_PORTS = {"ws": 80, "wss": 443}


@dataclass(frozen=True)
class RemoteURL:
    """One dialable hub address; credentials given in the URL travel with it."""

    host: str
    port: int
    tls: bool
    user: str = ""
    password: str = ""
    # ws:// or wss:// (tls): the link runs over a WebSocket to the hub's websocket port, at `path`.
    websocket: bool = False
    path: str = ""

    def __str__(self) -> str:
        if self.websocket:
            return f"{'wss' if self.tls else 'ws'}://{self.host}:{self.port}{self.path}"
        return f"{'tls' if self.tls else 'nats-leaf'}://{self.host}:{self.port}"


@dataclass(frozen=True)
class ProxySettings:
    """`proxy { url, username, password, timeout }`: WebSocket URLs are dialled through an HTTP CONNECT tunnel."""

    host: str
    port: int
    username: str = ""
    password: str = ""
    timeout: float = 0.0


@dataclass(frozen=True)
class TLSSettings:
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    insecure: bool = False
    # Accepting side: require and verify client certificates against ca_file.
    verify: bool = False
    server_name: str = ""
    # Seconds the TLS handshake may take (nats-server's default).
    timeout: float = 2.0


@dataclass(frozen=True)
class RemoteSettings:
    """One entry of `remotes = [ ... ]`: one connection binding a local account to a hub account."""

    urls: tuple[RemoteURL, ...]
    account: str = "$G"
    credentials: str = ""
    nkey_seed: str = ""
    tls: TLSSettings | None = None
    hub: bool = False
    deny_imports: tuple[str, ...] = ()
    deny_exports: tuple[str, ...] = ()
    first_info_timeout: float = 1.0
    ws_compression: bool = False
    proxy: ProxySettings | None = None
    # edgenats: bytes a second for the JetStream deliveries that leave through this link (0: unpaced).
    drain_rate: int = 0

    def describe(self) -> str:
        return ", ".join(str(url) for url in self.urls)


@dataclass(frozen=True)
class LeafNodeSettings:
    host: str = ""
    port: int = 0
    listen: bool = False
    authorization: dict | None = field(default=None, compare=False)
    # Compare the authorization block by its text: dicts from the config reader carry positions.
    authorization_text: str = ""
    remotes: tuple[RemoteSettings, ...] = ()
    reconnect_interval: float = DEFAULT_RECONNECT_INTERVAL
    tls: TLSSettings | None = None
    # A link's write deadline (0: the server's `write_deadline`) and what passing it does.
    write_deadline: float = 0.0
    write_timeout: WriteTimeout = WriteTimeout.RETRY
    # The most output a link keeps waiting for a peer that does not read; messages beyond are dropped.
    max_pending: int = DEFAULT_MAX_PENDING

    def fixed(self) -> LeafNodeSettings:
        """These settings less what a reload applies (the remotes' drain rates)."""
        return replace(self, remotes=tuple(replace(remote, drain_rate=0) for remote in self.remotes))


def _lower(block: object, where: str) -> dict:
    if not isinstance(block, dict):
        raise ValueError(f"{where} must be a block {{ ... }}")
    return {str(key).lower(): value for key, value in block.items()}


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where} must be a string, got {value!r}")
    return value


def _strings(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ValueError(f"{where} must be a subject or a list of subjects")


def _write_timeout(value: object, where: str) -> WriteTimeout:
    """nats-server's policies; "default" is retry on leaf links."""
    if value == "default":
        return WriteTimeout.RETRY
    if value in ("close", "retry"):
        return WriteTimeout(value)
    raise ValueError(f"{where}: write_timeout must be 'default', 'close' or 'retry'")


def parse_url(text: object, where: str) -> RemoteURL:
    from urllib.parse import unquote, urlsplit  # with leaf remotes only, like the rest of urllib's users

    url_text = _text(text, where)
    if "://" not in url_text:
        url_text = "nats-leaf://" + url_text
    parts = urlsplit(url_text)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError(f"{where}: unsupported scheme {scheme!r} in {text!r}")
    try:
        port = parts.port or _WEBSOCKET_PORTS.get(scheme, DEFAULT_LEAF_PORT)
    except ValueError:
        raise ValueError(f"{where}: bad port in {text!r}") from None
    if not parts.hostname:
        raise ValueError(f"{where}: no host in {text!r}")
    return RemoteURL(
        parts.hostname, port, scheme in ("tls", "wss"),
        unquote(parts.username or ""), unquote(parts.password or ""),
        websocket=scheme in _WEBSOCKET_PORTS, path=parts.path if scheme in _WEBSOCKET_PORTS else "",
    )


def parse_proxy(block: object, where: str) -> ProxySettings:
    """nats-server 2.11's checks: an http(s) URL with a host, username and password together."""
    fields = _lower(block, where)
    values: dict = {}
    for key, value in fields.items():
        if key == "url":
            from urllib.parse import urlsplit

            url = _text(value, f"{where}.url")
            parts = urlsplit(url)
            if parts.scheme.lower() not in ("http", "https"):
                raise ValueError(f"{where}.url: proxy URL scheme must be http or https, got {parts.scheme!r}")
            try:
                port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
            except ValueError:
                raise ValueError(f"{where}.url: bad port in {url!r}") from None
            if not parts.hostname:
                raise ValueError(f"{where}.url: proxy URL must specify a host")
            values["host"], values["port"] = parts.hostname, port
        elif key in ("username", "password"):
            values[key] = _text(value, f"{where}.{key}")
        elif key == "timeout":
            values["timeout"] = positive_duration(value, f"{where}.timeout")
        else:
            raise ValueError(f"{where}: unknown proxy setting {key!r}")
    if "host" not in values:
        raise ValueError(f"{where}: a proxy needs url")
    if bool(values.get("username")) != bool(values.get("password")):
        raise ValueError(f"{where}: proxy username and password must both be specified or both be empty")
    return ProxySettings(**values)


def parse_tls(block: object, where: str) -> TLSSettings:
    fields = _lower(block, where)
    values: dict = {}
    for key, value in fields.items():
        if key in ("ca_file", "cert_file", "key_file"):
            values[key] = _text(value, f"{where}.{key}")
        elif key == "insecure":
            values["insecure"] = value is True
        elif key == "server_name":
            values["server_name"] = _text(value, f"{where}.{key}")
        elif key == "handshake_first":
            if value not in (False, "false"):
                raise ValueError(f"{where}.handshake_first: TLS before INFO is not supported by edgenats")
        elif key == "verify":
            values["verify"] = value is True
        elif key == "timeout":
            values["timeout"] = positive_duration(value, f"{where}.timeout")
        elif key == "verify_and_map":
            if value not in (False, "false"):
                raise ValueError(f"{where}.verify_and_map: mapping certificates to users is supported by edgenats "
                                 "on the client port only")
        else:
            raise ValueError(f"{where}: unsupported TLS setting {key!r}")
    if bool(values.get("cert_file")) != bool(values.get("key_file")):
        raise ValueError(f"{where}: cert_file and key_file go together")
    return TLSSettings(**values)


def parse_remote(block: object, where: str) -> RemoteSettings:
    fields = _lower(block, where)
    values: dict = {}
    urls: list[RemoteURL] = []
    tls_block = None
    for key, value in fields.items():
        if key == "url":
            urls.append(parse_url(value, f"{where}.url"))
        elif key == "urls":
            if not isinstance(value, list | tuple):
                raise ValueError(f"{where}.urls must be a list of URLs")
            urls.extend(parse_url(item, f"{where}.urls") for item in value)
        elif key in ("account", "local"):
            values["account"] = _text(value, f"{where}.{key}")
        elif key == "credentials":
            path = _text(value, f"{where}.credentials")
            if not os.path.isfile(path):
                raise ValueError(f"{where}.credentials: file {path!r} not found")
            values["credentials"] = path
        elif key in ("nkey", "seed"):
            seed = _text(value, f"{where}.{key}")
            if not seed.startswith("SU"):
                raise ValueError(f"{where}.{key}: expected a user nkey seed (SU...)")
            values["nkey_seed"] = seed
        elif key == "tls":
            tls_block = parse_tls(value, f"{where}.tls")
        elif key == "hub":
            values["hub"] = value is True
        elif key == "deny_imports":
            values["deny_imports"] = _strings(value, f"{where}.{key}")
        elif key == "deny_exports":
            values["deny_exports"] = _strings(value, f"{where}.{key}")
        elif key == "first_info_timeout":
            values["first_info_timeout"] = positive_duration(value, f"{where}.{key}")
        elif key == "compression":
            if value not in (False, "off", "disabled"):
                raise ValueError(f"{where}.compression: edgenats links are uncompressed; use \"off\"")
        elif key in ("no_randomize", "dont_randomize"):
            continue
        elif key in ("ws_compress", "ws_compression", "websocket_compress", "websocket_compression"):
            values["ws_compression"] = value is True
        elif key == "proxy":
            values["proxy"] = parse_proxy(value, f"{where}.proxy")
        elif key == "drain_rate":
            values["drain_rate"] = positive_size(value, f"{where}.drain_rate")
        elif key in ("ws_no_masking", "websocket_no_masking"):
            raise ValueError(f"{where}.{key}: edgenats always masks the frames it sends to a hub")
        else:
            raise ValueError(f"{where}: unknown remote setting {key!r}")
    if not urls:
        raise ValueError(f"{where}: a remote needs url or urls")
    if len({url.websocket for url in urls}) > 1:
        raise ValueError(f"{where}: a remote cannot have a mix of websocket and non-websocket urls")
    if "proxy" in values and not urls[0].websocket:
        raise ValueError(f"{where}.proxy: a proxy is only used for WebSocket (ws:// or wss://) urls")
    if tls_block is None and any(url.tls for url in urls):
        if "proxy" in values:
            raise ValueError(f"{where}.proxy: remote URL {urls[0]} requires TLS and no TLS configuration is "
                             f"provided (a tls block is needed with a proxy, as nats-server requires)")
        tls_block = TLSSettings()
    return RemoteSettings(urls=tuple(urls), tls=tls_block, **values)


def parse_leafnodes(block: object) -> LeafNodeSettings:
    """The whole `leafnodes` block; raises ValueError naming the offending key."""
    fields = _lower(block, "leafnodes")
    values: dict = {}
    for key, value in fields.items():
        where = f"leafnodes.{key}"
        if key == "listen":
            host, _, port_text = str(value).rpartition(":")
            if not port_text.isdigit():
                raise ValueError(f"{where} must be host:port, got {value!r}")
            values["host"] = host.strip("[]") or "0.0.0.0"
            values["port"] = int(port_text)
            values["listen"] = True
        elif key == "host":
            values["host"] = _text(value, where)
            values["listen"] = True
        elif key == "port":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
                raise ValueError(f"{where} must be a port number")
            values["port"] = value
            values["listen"] = True
        elif key in ("authorization", "auth"):
            values["authorization"] = _lower(value, where)
            values["authorization_text"] = repr(sorted(values["authorization"].items()))
        elif key == "remotes":
            if not isinstance(value, list | tuple):
                raise ValueError(f"{where} must be a list of remotes")
            values["remotes"] = tuple(parse_remote(item, f"{where}[{index}]") for index, item in enumerate(value))
        elif key in ("reconnect", "reconnect_interval"):
            values["reconnect_interval"] = positive_duration(value, where)
        elif key == "tls":
            values["tls"] = parse_tls(value, where)
        elif key == "compression":
            if value not in (False, "off", "disabled"):
                raise ValueError(f"{where}: edgenats links are uncompressed; use \"off\"")
        elif key == "write_deadline":
            values["write_deadline"] = positive_duration(value, where)
        elif key == "write_timeout":
            values["write_timeout"] = _write_timeout(value, where)
        elif key == "max_pending":
            values["max_pending"] = positive_size(value, where)
        elif key in ("advertise", "no_advertise", "isolate_leafnode_interest"):
            continue
        else:
            raise ValueError(f"leafnodes: unknown setting {key!r}")
    tls = values.get("tls")
    if tls is not None and not (tls.cert_file and tls.key_file):
        raise ValueError("leafnodes.tls: a listener needs cert_file and key_file")
    settings = LeafNodeSettings(**values)
    if settings.listen and not settings.port:
        settings = LeafNodeSettings(**{**values, "port": DEFAULT_LEAF_PORT})
    return settings
