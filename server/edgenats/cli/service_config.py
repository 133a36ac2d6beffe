"""The starter broker config `edgenats service install` writes (nats-server syntax): the client port,
JetStream in the data folder, a leaf remote to the hub when one is given, one client user when one is
given; otherwise the settings of the Ansible role's defaults. The broker checks it (`edgenats-server -t`)
before it is installed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlsplit

from edgenats.cli.device_credentials import hash_password
from edgenats.cli.errors import CommandError

HUB_SCHEMES = ("nats-leaf", "nats", "tls", "ws", "wss")
MASK = "********"


@dataclass(frozen=True)
class HubLink:
    url: str
    user: str | None = None
    password: str | None = None

    def remote_url(self, *, masked: bool = False) -> str:
        """The URL with the credentials in it, as a leaf remote takes them (`masked`: the password hidden)."""
        if not self.user:
            return self.url
        scheme, address = self.url.split("://", 1)
        secret = "" if self.password is None else f":{MASK if masked else quote(self.password, safe='')}"
        return f"{scheme}://{quote(self.user, safe='')}{secret}@{address}"


@dataclass(frozen=True)
class StarterConfig:
    server_name: str
    port: int
    data_dir: PurePosixPath
    hub: HubLink | None = None
    jetstream_domain: str | None = None
    client_user: str | None = None
    client_password_hash: str | None = None

    def render(self, *, masked: bool = False) -> str:
        """The file's text; `masked` writes the hub password as asterisks (for printing)."""
        lines = [
            "# edgenats broker config (nats-server syntax), written by `edgenats service install`.",
            "# `systemctl reload edgenats` re-reads it; check a change first with `edgenats-server -t -c <file>`.",
            f"server_name: {json.dumps(self.server_name)}",
            f'listen: "0.0.0.0:{self.port}"',
            'lame_duck_duration: "30s"',
            'lame_duck_grace_period: "10s"',
            "",
            "# Streams on the SD card: flushed every 2 minutes (\"always\": before every PubAck).",
            "jetstream {",
            f"  store_dir: {json.dumps(str(self.data_dir))}",
        ]
        if self.jetstream_domain:
            lines.append(f"  domain: {json.dumps(self.jetstream_domain)}")
        lines += ['  sync_interval: "2m"', "  max_memory_store: 16MB", "}"]
        if self.hub:
            lines += ["", "leafnodes {", '  reconnect: "2s"', "  remotes = [",
                      f"    {{url: {json.dumps(self.hub.remote_url(masked=masked))}}}", "  ]", "}"]
        if self.client_user:
            user, password = json.dumps(self.client_user), json.dumps(self.client_password_hash)
            lines += ["", "authorization {", "  users = [", f"    {{user: {user}, password: {password}}}", "  ]", "}"]
        return "\n".join(lines) + "\n"


def read_secret(path: Path, what: str) -> str:
    """The first line of a password file."""
    try:
        text = path.read_text()
    except OSError as error:
        raise CommandError(f"cannot read the {what} file {path}: {error.strerror}") from None
    secret = text.splitlines()[0] if text else ""
    if not secret:
        raise CommandError(f"the {what} file {path} is empty")
    return secret


def hub_link(url: str | None, user: str | None, password_file: Path | None) -> HubLink | None:
    if url is None:
        if user or password_file:
            raise CommandError("--hub-user and --hub-password-file need --hub URL")
        return None
    parts = urlsplit(url)
    if parts.scheme not in HUB_SCHEMES or not parts.hostname or "://" not in url:
        raise CommandError(f"--hub {url!r} is not a leaf node URL such as nats-leaf://hub.example.com:7422")
    if parts.username or parts.password:
        raise CommandError("give the hub's credentials with --hub-user and --hub-password-file, not in --hub")
    if password_file and not user:
        raise CommandError("--hub-password-file needs --hub-user")
    password = read_secret(password_file, "hub password") if password_file else None
    return HubLink(url, user, password)


def client_login(user: str | None, password_file: Path | None) -> tuple[str | None, str | None]:
    """The client user and its bcrypt hash, or neither."""
    if bool(user) != bool(password_file):
        raise CommandError("--client-user and --client-password-file go together")
    if not user:
        return None, None
    return user, hash_password(read_secret(password_file, "client password"))
