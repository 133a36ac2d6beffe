"""A device's own broker user: the permissions the device app needs (derived from the device id the way
`firmware/app/edgeapp.py` derives its default subjects), its users-list entry in config syntax with the
password bcrypt-hashed, and the per-device include file `edgenats creds device --config-dir` keeps.

The include file defines one variable, `device_<id>`, holding the entry; the broker config includes the
file at its top level and lists `$device_<id>` in `authorization { users = [...] }` (nats-server's
syntax: an include cannot add elements to an array, a variable can stand for one). A file is rewritten
only when what it would hold differs: a password that still matches the stored hash keeps that hash.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from edgenats.auth.passwords import verify_password

DEVICE_ID = re.compile(r"[A-Za-z0-9_-]+")
BCRYPT_COST = 11  # what `nats server passwd` uses
SERVICE_VERBS = ("PING", "INFO", "STATS")


@dataclass(frozen=True)
class DeviceSubjects:
    """Where a device app publishes and listens: its prefixes, service name and commands stream."""

    device_id: str
    subjects_prefix: str = "devices"
    commands_prefix: str = "commands"
    service_name: str = "edgedevice"
    commands_stream: str | None = None
    api_prefix: str = "$JS.API"

    @property
    def inbox_prefix(self) -> str:
        """The device app's inbox prefix (its replies and pull deliveries come under it)."""
        return f"_INBOX.{self.device_id}"

    def permissions(self) -> dict:
        """nats-server permissions allowing exactly the app's traffic; replies to requests it serves
        (commands, service discovery) go out under `allow_responses`."""
        dev, own = self.device_id, f"{self.subjects_prefix}.{self.device_id}"
        publish = [f"{own}.>"]
        subscribe = [f"{own}.cmd", f"{self.inbox_prefix}.>"]
        for verb in SERVICE_VERBS:
            subscribe += [f"$SRV.{verb}", f"$SRV.{verb}.{self.service_name}", f"$SRV.{verb}.{self.service_name}.*"]
        if self.commands_stream:
            stream, durable = self.commands_stream, f"cmd-{dev}"
            publish += [f"{self.api_prefix}.CONSUMER.MSG.NEXT.{stream}.{durable}",
                        f"{self.api_prefix}.CONSUMER.CREATE.{stream}.{durable}.{self.commands_prefix}.{dev}",
                        f"$JS.ACK.{stream}.{durable}.>"]
        return {"publish": {"allow": publish}, "subscribe": {"allow": subscribe}, "allow_responses": True}


def check_device_id(device_id: str) -> None:
    if not DEVICE_ID.fullmatch(device_id):
        raise ValueError(f"device id {device_id!r}: use letters, digits, '-' and '_'")


def new_password() -> str:
    return secrets.token_urlsafe(18)


def hash_password(password: str) -> str:
    """A bcrypt hash in the `$2a$` form nats-server's own `passwd` tool writes."""
    import bcrypt

    return bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(BCRYPT_COST, prefix=b"2a")).decode()


def users_entry(device: DeviceSubjects, password_hash: str) -> str:
    """The users-list entry, one line of config (JSON is config syntax)."""
    return json.dumps({"user": device.device_id, "password": password_hash, "permissions": device.permissions()})


def variable_name(device_id: str) -> str:
    return f"device_{device_id}"


def include_text(device: DeviceSubjects, password_hash: str) -> str:
    name = variable_name(device.device_id)
    return (f"# The broker user of device {device.device_id}, written by `edgenats creds device`: include this file\n"
            f"# at the top level of the broker config and list ${name} in authorization {{ users = [...] }}.\n"
            f"{name} = {users_entry(device, password_hash)}\n")


def stored_hash(path: Path, device_id: str) -> str | None:
    """The password hash a per-device include file holds, or None if there is no readable one."""
    try:
        text = path.read_text()
    except OSError:
        return None
    prefix = f"{variable_name(device_id)} = "
    for line in text.splitlines():
        if line.startswith(prefix):
            try:
                password = json.loads(line[len(prefix):]).get("password")
            except (ValueError, AttributeError):
                return None
            return password if isinstance(password, str) else None
    return None


def write_include(directory: Path, device: DeviceSubjects, password: str) -> bool:
    """Writes `<directory>/<id>.conf` (mode 0640) unless it already holds this entry for this password;
    True when it was written."""
    path = directory / f"{device.device_id}.conf"
    kept = stored_hash(path, device.device_id)
    password_hash = kept if kept and verify_password(kept, password) else hash_password(password)
    text = include_text(device, password_hash)
    if path.exists() and path.read_text() == text:
        return False
    directory.mkdir(parents=True, exist_ok=True)
    write_private(path, text, 0o640)
    return True


def write_private(path: Path, text: str, mode: int) -> None:
    """Replaces `path` with `text`, never readable beyond `mode` on the way."""
    temporary = path.with_name(f".{path.name}.new")
    temporary.unlink(missing_ok=True)
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "w") as file:
        file.write(text)
    temporary.replace(path)
