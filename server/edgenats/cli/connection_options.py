"""The connection flags every client-side command shares: -s/--server, --user, --password, --token,
--creds (a user JWT and seed, operator mode) and --tlsca/--tlscert/--tlskey (TLS, as the nats CLI names them).

The top-level parser owns the defaults: the NATS_URL, NATS_USER, NATS_PASSWORD, NATS_TOKEN, NATS_CREDS,
NATS_CA, NATS_CERT and NATS_KEY environment variables (unset when empty; without NATS_URL the local
server), so a tool can pass credentials outside the command line. Each subcommand accepts the same
flags again so they may be written before or after the command name.
"""

from __future__ import annotations

import argparse
import os
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from edgenats.cli.errors import CommandError

DEFAULT_SERVER_URL = "nats://127.0.0.1:4222"
SUPPORTED_SCHEMES = ("nats", "tls")


def add_connection_arguments(parser: argparse.ArgumentParser, *, with_defaults: bool) -> None:
    """Add the connection flags; without defaults a later parser leaves earlier values alone."""

    def default(value: str | None) -> str | None:
        return value if with_defaults else argparse.SUPPRESS

    group = parser.add_argument_group("connection")
    group.add_argument(
        "-s", "--server", metavar="URL", default=default(os.environ.get("NATS_URL", DEFAULT_SERVER_URL)),
        help=f"server URL(s), comma separated (env NATS_URL, default {DEFAULT_SERVER_URL})",
    )
    group.add_argument("--user", default=default(os.environ.get("NATS_USER") or None),
                       help="user name (env NATS_USER)")
    group.add_argument("--password", default=default(os.environ.get("NATS_PASSWORD") or None),
                       help="password (env NATS_PASSWORD)")
    group.add_argument("--token", default=default(os.environ.get("NATS_TOKEN") or None),
                       help="authentication token (env NATS_TOKEN)")
    group.add_argument("--creds", metavar="FILE", default=default(os.environ.get("NATS_CREDS") or None),
                       help="user JWT and seed (.creds) for operator mode (env NATS_CREDS)")
    group.add_argument("--tlsca", metavar="FILE", default=default(os.environ.get("NATS_CA") or None),
                       help="CA that signed the server's certificate; implies TLS (env NATS_CA)")
    group.add_argument("--tlscert", metavar="FILE", default=default(os.environ.get("NATS_CERT") or None),
                       help="client certificate (env NATS_CERT)")
    group.add_argument("--tlskey", metavar="FILE", default=default(os.environ.get("NATS_KEY") or None),
                       help="client certificate's key (env NATS_KEY)")


def connection_arguments_parent() -> argparse.ArgumentParser:
    """A parent parser for subcommands: the connection flags without defaults of their own."""
    parent = argparse.ArgumentParser(add_help=False)
    add_connection_arguments(parent, with_defaults=False)
    return parent


@dataclass(frozen=True)
class ServerAddress:
    url: str
    scheme: str
    host: str
    port: int
    user: str | None
    password: str | None


@dataclass(frozen=True)
class ConnectionSettings:
    servers: list[ServerAddress]
    user: str | None
    password: str | None
    token: str | None
    creds: str | None = None
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ConnectionSettings:
        settings = cls(parse_server_urls(args.server), args.user, args.password, args.token, args.creds,
                       args.tlsca, args.tlscert, args.tlskey)
        if bool(settings.tls_cert) != bool(settings.tls_key):
            raise CommandError("--tlscert and --tlskey go together")
        for path in (settings.creds, settings.tls_ca, settings.tls_cert, settings.tls_key):
            if path and not os.path.isfile(path):
                raise CommandError(f"cannot read {path}: no such file")
        return settings

    def tls_context(self) -> ssl.SSLContext | None:
        """The TLS context when a tls:// URL or a TLS file asks for TLS, else None (plain text)."""
        if not (self.tls_ca or self.tls_cert or any(server.scheme == "tls" for server in self.servers)):
            return None
        context = ssl.create_default_context(cafile=self.tls_ca)
        if self.tls_cert:
            context.load_cert_chain(self.tls_cert, self.tls_key)
        return context

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    @property
    def display_url(self) -> str:
        """The server URLs without credentials, for messages."""
        return ",".join(f"{server.scheme}://{server.host}:{server.port}" for server in self.servers)


def parse_server_urls(text: str) -> list[ServerAddress]:
    """Validate `-s` (one URL or several, comma separated); `host:port` alone means nats://host:port."""
    addresses = [parse_server_url(item.strip()) for item in text.split(",") if item.strip()]
    if not addresses:
        raise CommandError("no server URL given")
    return addresses


def parse_server_url(text: str) -> ServerAddress:
    url = text if "://" in text else f"nats://{text}"
    parts = urlsplit(url)
    if parts.scheme not in SUPPORTED_SCHEMES:
        schemes = ", ".join(SUPPORTED_SCHEMES)
        raise CommandError(f"invalid server URL {text!r}: scheme must be one of {schemes}")
    try:
        port = parts.port or 4222
    except ValueError:
        raise CommandError(f"invalid server URL {text!r}: bad port") from None
    if not parts.hostname or " " in parts.netloc:
        raise CommandError(f"invalid server URL {text!r}: no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        # `nats//host:port` (a colon left out) would otherwise be host "nats" with a path.
        raise CommandError(f"invalid server URL {text!r}: expected nats://host:port or host:port")
    return ServerAddress(url, parts.scheme, parts.hostname, port, parts.username, parts.password)
