"""The serial bridge's config file (JSON): the broker to use, the site and node naming its subjects, whether
board lines go through JetStream, and the ports. Every mistake is reported at once (`ConfigError`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

STREAM_MODES = ("auto", "always", "never")
TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")  # one subject token
DEFAULT_BAUD = 115200


class ConfigError(Exception):
    """The config cannot be used; the message lists every problem, one a line."""


@dataclass(frozen=True)
class PortConfig:
    path: str
    baud: int = DEFAULT_BAUD


@dataclass(frozen=True)
class BridgeConfig:
    servers: list[str]
    site: str
    node: str
    ports: list[PortConfig]
    stream: str = "auto"
    user: str | None = None
    password: str | None = None
    creds: str | None = None

    @property
    def status_subject(self) -> str:
        return f"{self.site}.{self.node}.serial.status"


def load(path: str | Path) -> BridgeConfig:
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise ConfigError(f"{path}: {error}") from None
    return parse(raw, str(path))


def parse(raw: object, where: str = "config") -> BridgeConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: not a JSON object")
    problems = []
    known = {"servers", "user", "password", "creds", "site", "node", "stream", "ports"}
    problems += [f"{key}: unknown setting" for key in sorted(set(raw) - known)]
    servers = raw.get("servers", ["nats://127.0.0.1:4222"])
    if isinstance(servers, str):
        servers = [servers]
    if not isinstance(servers, list) or not servers or not all(isinstance(s, str) and s for s in servers):
        problems.append("servers: a list of nats:// URLs")
    for key in ("site", "node"):
        if not isinstance(raw.get(key), str) or not TOKEN.match(raw[key]):
            problems.append(f"{key}: required, one subject token (letters, digits, '-', '_')")
    for key in ("user", "password", "creds"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            problems.append(f"{key}: a string")
    if bool(raw.get("user")) != bool(raw.get("password")):
        problems.append("user and password: give both or neither")
    stream = raw.get("stream", "auto")
    if stream not in STREAM_MODES:
        problems.append(f"stream: one of {', '.join(STREAM_MODES)}, not {stream!r}")
    ports = []
    entries = raw.get("ports")
    if not isinstance(entries, list) or not entries:
        problems.append("ports: required, a list of {\"path\": ..., \"baud\": ...}")
        entries = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or not entry["path"]:
            problems.append(f"ports[{index}].path: required, the port's device path")
            continue
        extra = sorted(set(entry) - {"path", "baud"})
        problems += [f"ports[{index}].{key}: unknown setting" for key in extra]
        baud = entry.get("baud", DEFAULT_BAUD)
        if not isinstance(baud, int) or isinstance(baud, bool) or baud <= 0:
            problems.append(f"ports[{index}].baud: a positive number")
            continue
        ports.append(PortConfig(entry["path"], baud))
    paths = [p.path for p in ports]
    problems += [f"ports: {path} is listed twice" for path in sorted({p for p in paths if paths.count(p) > 1})]
    if problems:
        raise ConfigError(f"{where}:\n  " + "\n  ".join(problems))
    return BridgeConfig(servers=servers, site=raw["site"], node=raw["node"], ports=ports, stream=stream,
                        user=raw.get("user"), password=raw.get("password"), creds=raw.get("creds"))
