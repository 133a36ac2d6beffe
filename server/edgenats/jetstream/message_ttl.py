"""Per-message TTLs (`Nats-TTL`) and limit markers: the header's grammar as nats-server reads it, the Go
duration text a marker carries, and `ExpiryQueue`, the stream's schedule of messages due to expire by
their own TTL (earliest first), rebuilt from the stored headers when a stream is opened."""

from __future__ import annotations

import heapq
import re

from edgenats.jetstream import errors
from edgenats.protocol.headers import HeaderError, parse_headers

TTL = "Nats-TTL"
MARKER_REASON = "Nats-Marker-Reason"
NEVER = -1  # `Nats-TTL: never`: exempt from the TTL and from max_age
SECOND = 1_000_000_000
MAX_NS = (1 << 63) - 1
_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": SECOND,
          "m": 60 * SECOND, "h": 3600 * SECOND}
_PART = re.compile(r"(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)")


def _go_duration(text: str) -> int | None:
    """Go's time.ParseDuration (sign, decimal fractions, unit sequences), in ns; None when invalid."""
    sign = 1
    if text[:1] in "+-":
        sign, text = (-1 if text[0] == "-" else 1), text[1:]
    if text == "0":
        return 0
    if not text:
        return None
    total, position = 0, 0
    while position < len(text):
        found = _PART.match(text, position)
        if found is None or not (found.group(1) or found.group(2)):
            return None
        whole, fraction, unit = found.groups()
        scale = _UNITS[unit]
        total += int(whole or "0") * scale
        if fraction:
            total += int(fraction) * scale // 10 ** len(fraction)
        position = found.end()
    return sign * total if total <= MAX_NS else None


def parse_ttl(value: str) -> int:
    """The TTL a `Nats-TTL` value asks for in ns (NEVER for `never`); 10165 when it is under a second,
    zero, negative or unreadable. A bare integer is seconds."""
    text = value.strip()
    if text.lower() == "never":
        return NEVER
    ttl = int(text) * SECOND if text.isdigit() and text.isascii() else _go_duration(text)
    if ttl is None or ttl < SECOND or ttl > MAX_NS:
        raise errors.invalid_ttl()
    return ttl


def ttl_of(headers: bytes | None) -> int:
    """The TTL stored with a message (0: none); stored values were checked on the way in."""
    if not headers or TTL.encode() not in headers:
        return 0
    try:
        value = parse_headers(headers).get(TTL)
        return parse_ttl(value) if value else 0
    except (HeaderError, errors.ApiError):
        return 0


def is_marker(headers: bytes | None) -> bool:
    return bool(headers) and MARKER_REASON.encode() in headers


def duration_text(ns: int) -> str:
    """At least a second, as Go's Duration.String(): 5s, 1.5s, 1m0s, 1h0m0s."""
    seconds, fraction = divmod(ns, SECOND)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if fraction:
        secs = f"{secs}.{fraction:09d}".rstrip("0")
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def marker_headers(reason: str, marker_ttl: int) -> bytes:
    """A limit marker's header block, in nats-server's order."""
    return (f"NATS/1.0\r\n{MARKER_REASON}: {reason}\r\n{TTL}: {duration_text(marker_ttl)}\r\n"
            f"Nats-Rollup: sub\r\n\r\n").encode()


def with_ttl(headers: bytes, seconds: int) -> bytes:
    """The header block with its `Nats-TTL` moved to the end with a new value (a TTL raised to the
    marker TTL), as nats-server rewrites it."""
    prefix = TTL.encode() + b":"
    kept = [line for line in headers[:-4].split(b"\r\n") if not line.startswith(prefix)]
    return b"\r\n".join(kept) + f"\r\n{TTL}: {seconds}\r\n\r\n".encode()


class ExpiryQueue:
    """(expires_ns, seq) of messages with a TTL, earliest first; removed messages are skipped lazily."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int]] = []

    def add(self, seq: int, expires_ns: int) -> None:
        heapq.heappush(self._heap, (expires_ns, seq))

    def next_due(self) -> int | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now_ns: int) -> list[int]:
        due = []
        while self._heap and self._heap[0][0] <= now_ns:
            due.append(heapq.heappop(self._heap)[1])
        return due

    def clear(self) -> None:
        self._heap.clear()
