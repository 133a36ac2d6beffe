"""Duration values in auth config: Go duration strings ("2m", "1m30s", "250ms") or plain seconds."""

import re

from .errors import AuthConfigError

_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(text: str, what: str) -> float:
    """Seconds in a Go duration string; `what` names the setting in the error message."""
    body = text.strip()
    sign = 1.0
    if body[:1] in ("+", "-"):
        sign = -1.0 if body[0] == "-" else 1.0
        body = body[1:]
    if body == "0":
        return 0.0
    total = 0.0
    position = 0
    while position < len(body):
        part = _PART.match(body, position)
        if part is None:
            raise AuthConfigError(f"{what}: invalid duration {text!r}")
        total += float(part.group(1)) * _UNIT_SECONDS[part.group(2)]
        position = part.end()
    if not body:
        raise AuthConfigError(f"{what}: invalid duration {text!r}")
    return sign * total


def seconds_from_config(value: object, what: str) -> float:
    """An int/float number of seconds or a duration string, as nats-server accepts for timeouts."""
    if isinstance(value, bool):
        raise AuthConfigError(f"{what}: expected a number of seconds or a duration string, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return parse_go_duration(value, what)
    raise AuthConfigError(f"{what}: expected a number of seconds or a duration string, got {value!r}")
