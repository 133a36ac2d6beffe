"""How nats-server writes values in its monitoring JSON: Go durations, its uptime style, RFC 3339
timestamps with nanoseconds in UTC, whole floats without a fraction, and Go's JSON escaping.
"""

from __future__ import annotations

import json
import time
from typing import Any

_NS_PER_S = 1_000_000_000
# Go's encoding/json escapes these so the output is safe inside HTML; tools compare strings decoded,
# but matching byte for byte keeps diffs against nats-server clean.
_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _fraction(value: int, unit: int) -> str:
    """`value / unit` in decimal without trailing zeros (Go prints the shortest exact form)."""
    whole, rest = divmod(value, unit)
    if not rest:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{rest:0{digits}d}".rstrip("0")


def go_duration(seconds: float) -> str:
    """A duration as Go's time.Duration.String(): "0s", "336µs", "4.5ms", "1m2.5s", "2h0m0s"."""
    ns = round(seconds * _NS_PER_S)
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_fraction(ns, 1_000)}µs"
    if ns < _NS_PER_S:
        return f"{sign}{_fraction(ns, 1_000_000)}ms"
    hours, ns = divmod(ns, 3600 * _NS_PER_S)
    minutes, ns = divmod(ns, 60 * _NS_PER_S)
    text = f"{_fraction(ns, _NS_PER_S)}s"
    if hours:
        text = f"{hours}h{minutes}m{text}"
    elif minutes:
        text = f"{minutes}m{text}"
    return sign + text


def go_uptime(seconds: float) -> str:
    """Whole seconds in nats-server's uptime style: "3s", "1m2s", "1d2h3m4s", "1y2d3h4m5s"."""
    total = max(int(seconds), 0)
    minutes, secs = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    years, days = divmod(days, 365)
    if years:
        return f"{years}y{days}d{hours}h{minutes}m{secs}s"
    if days:
        return f"{days}d{hours}h{minutes}m{secs}s"
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def rfc3339(epoch_seconds: float | None = None) -> str:
    """A UTC time as Go's RFC3339Nano: fraction without trailing zeros, none at all when whole.

    Float epoch seconds carry about a microsecond of precision, so they are rounded to it rather
    than printing invented nanoseconds; with no argument the current time is read in nanoseconds.
    """
    ns = time.time_ns() if epoch_seconds is None else round(epoch_seconds * 1_000_000) * 1_000
    secs, frac = divmod(ns, _NS_PER_S)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if frac:
        text += f".{frac:09d}".rstrip("0")
    return text + "Z"


def go_float(value: float) -> float | int:
    """Go writes a float64 that is whole without a fraction (`2`, not `2.0`)."""
    return int(value) if float(value).is_integer() else value


# json.dumps builds an encoder per call for any non-default option; these two are built once.
_PRETTY = json.JSONEncoder(ensure_ascii=False, indent=2)
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def go_json(document: Any, pretty: bool = True) -> bytes:
    """JSON as nats-server writes it: UTF-8, two-space indented, HTML characters escaped."""
    text = (_PRETTY if pretty else _COMPACT).encode(document)
    for char, escape in _GO_ESCAPES.items():
        if char in text:
            text = text.replace(char, escape)
    return text.encode("utf-8")
