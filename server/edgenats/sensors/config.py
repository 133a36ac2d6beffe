"""The sensor service's config file (JSON), checked whole: every mistake is reported in one run, each
naming its place (`sensors[1].address`), and a key the service does not know is a mistake, never
ignored."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from edgenats.sensors.drivers import DRIVERS

STREAM_MODES = ("auto", "always", "never")
DEFAULT_SERVERS = ("nats://127.0.0.1:4222",)
DEFAULT_INTERVAL_S = 10.0
# One subject token: what a site, node or sensor name becomes in `<site>.<node>.<sensor>`.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")
_SUBJECT = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
_TOP_KEYS = {"servers", "user", "password", "creds", "site", "node", "stream", "sensors"}
_SENSOR_KEYS = {"name", "type", "bus", "address", "interval_s", "subject"}


class ConfigError(ValueError):
    """The file cannot be used; the message lists every problem found, one a line (without the file's
    name, which the caller puts before each)."""


@dataclass(frozen=True)
class SensorConfig:
    name: str
    type: str
    bus: int
    address: int
    interval_s: float
    subject: str


@dataclass(frozen=True)
class ServiceConfig:
    servers: tuple[str, ...]
    user: str | None
    password: str | None
    creds: str | None
    site: str
    node: str
    stream: str
    sensors: tuple[SensorConfig, ...]

    @property
    def command_prefix(self) -> str:
        """Where the service's endpoints live: `<site>.<node>.sensors`."""
        return f"{self.site}.{self.node}.sensors"


def load_config(path: str | Path) -> ServiceConfig:
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise ConfigError(f"cannot read it: {error.strerror}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"not JSON: {error}") from None
    return parse_config(document)


def parse_config(document: object) -> ServiceConfig:
    problems: list[str] = []
    if not isinstance(document, dict):
        raise ConfigError("the config must be a JSON object")
    problems += [f"{key}: unknown setting" for key in sorted(set(document) - _TOP_KEYS)]
    servers = document.get("servers", list(DEFAULT_SERVERS))
    if not (isinstance(servers, list) and servers and all(isinstance(s, str) and s for s in servers)):
        problems.append("servers: a non-empty list of URLs")
        servers = []
    user, password, creds = (_optional_text(document, key, problems) for key in ("user", "password", "creds"))
    site = _token(document.get("site"), "site", problems)
    node = _token(document.get("node"), "node", problems)
    stream = document.get("stream", "auto")
    if stream not in STREAM_MODES:
        problems.append(f"stream: one of {', '.join(STREAM_MODES)}")
    sensors = _sensors(document.get("sensors"), f"{site}.{node}", problems)
    if problems:
        raise ConfigError("\n".join(problems))
    return ServiceConfig(tuple(servers), user, password, creds, site, node, stream, sensors)


def _sensors(entries: object, prefix: str, problems: list[str]) -> tuple[SensorConfig, ...]:
    if not isinstance(entries, list) or not entries:
        problems.append("sensors: a non-empty list of sensors")
        return ()
    sensors = []
    names: set[str] = set()
    for index, entry in enumerate(entries):
        place = f"sensors[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{place}: an object")
            continue
        problems += [f"{place}.{key}: unknown setting" for key in sorted(set(entry) - _SENSOR_KEYS)]
        name = _token(entry.get("name"), f"{place}.name", problems)
        if name in names:
            problems.append(f"{place}.name: {name!r} is named twice")
        names.add(name)
        kind = entry.get("type")
        if kind not in DRIVERS:
            problems.append(f"{place}.type: one of {', '.join(sorted(DRIVERS))}")
        bus = entry.get("bus")
        if not _is_int(bus) or bus < 0:
            problems.append(f"{place}.bus: the I2C bus number (N of /dev/i2c-N)")
        address = entry.get("address")
        if not _is_int(address) or not 0x03 <= address <= 0x77:
            problems.append(f"{place}.address: a 7-bit I2C address, 3 to 119 (0x03 to 0x77)")
        interval = entry.get("interval_s", DEFAULT_INTERVAL_S)
        if not is_interval(interval):
            problems.append(f"{place}.interval_s: a number of seconds above 0")
            interval = DEFAULT_INTERVAL_S
        subject = entry.get("subject", f"{prefix}.{name}")  # the default is valid when its parts are
        if "subject" in entry and not (isinstance(subject, str) and _SUBJECT.match(subject)):
            problems.append(f"{place}.subject: a subject without wildcards")
        sensors.append(SensorConfig(name, kind, bus, address, float(interval), subject))
    return tuple(sensors)


def _token(value: object, place: str, problems: list[str]) -> str:
    if not isinstance(value, str) or not _TOKEN.match(value):
        problems.append(f"{place}: a name of letters, digits, '-' and '_'")
        return ""
    return value


def _optional_text(document: dict, key: str, problems: list[str]) -> str | None:
    value = document.get(key)
    if value is not None and not (isinstance(value, str) and value):
        problems.append(f"{key}: a non-empty string")
        return None
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_interval(value: object) -> bool:
    """A reading interval in seconds: a number above 0 (the file's `interval_s`, `set-interval`'s)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < float("inf")
