"""Units of config values: byte sizes with k/kb/m/mb... suffixes and Go-style durations."""

from __future__ import annotations

import re

# nats-server's suffixes: a bare letter is a power of 1000, with "b", "i" or "ib" a power of 1024.
SIZE_MULTIPLIERS: dict[str, int] = {"": 1}
for _power, _letter in enumerate("kmgtpe", start=1):
    SIZE_MULTIPLIERS[_letter] = 1000**_power
    for _binary_suffix in ("b", "i", "ib"):
        SIZE_MULTIPLIERS[_letter + _binary_suffix] = 1024**_power

_SIZE_RE = re.compile(r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*([a-zA-Z]*)\s*")
_DURATION_PART_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_NANOSECONDS = {"ns": 1, "us": 1000, "µs": 1000, "μs": 1000, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
                "h": 3600 * 10**9}


def _decimal_fraction(text: str) -> tuple[int, int]:
    """A decimal number ("12", "1.5", "-.25") exactly, as numerator and denominator (a power of ten)."""
    whole, _, fraction = text.partition(".")
    return int((whole or "0") + fraction), 10 ** len(fraction)


def parse_size(value: int | str) -> int:
    """Bytes from an int or a string such as "64KB", "1k", "2 GiB", "1.5MB"; raises ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"size must be a number or a string, not {type(value).__name__}")
    if isinstance(value, int):
        return value
    match = _SIZE_RE.fullmatch(value)
    multiplier = SIZE_MULTIPLIERS.get(match.group(2).lower()) if match else None
    if match is None or multiplier is None:
        raise ValueError(f"invalid size {value!r}: expected a number with an optional suffix like KB or MB")
    numerator, denominator = _decimal_fraction(match.group(1))
    whole = abs(numerator) * multiplier // denominator  # truncated toward zero
    return -whole if numerator < 0 else whole


def parse_duration(value: int | float | str) -> float:
    """Seconds from a number (seconds) or a Go duration string such as "2m", "1m30s", "250ms"."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"duration must be a number or a string, not {type(value).__name__}")
    if not isinstance(value, str):
        return float(value)
    text = value.strip()
    sign = -1 if text.startswith("-") else 1
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return 0.0
    # Exact until the one division at the end (int / int rounds correctly): nanoseconds * `scale`.
    total, scale = 0, 1
    position = 0
    while position < len(body):
        part = _DURATION_PART_RE.match(body, position)
        if part is None:
            break
        numerator, denominator = _decimal_fraction(part.group(1))
        if denominator > scale:
            total, scale = total * (denominator // scale), denominator
        total += numerator * _NANOSECONDS[part.group(2)] * (scale // denominator)
        position = part.end()
    if not body or position != len(body):
        raise ValueError(f"invalid duration {value!r}: expected something like \"10s\", \"2m\" or \"1m30s\"")
    return sign * (total / (scale * 10**9))


def positive_duration(value: int | float | str, what: str) -> float:
    """A duration setting that must be above zero; errors name the setting (`what`)."""
    return _positive(parse_duration, value, what)


def positive_size(value: int | str, what: str) -> int:
    """A size setting that must be above zero; errors name the setting (`what`)."""
    return _positive(parse_size, value, what)


def _positive(parse, value, what: str):
    try:
        parsed = parse(value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{what}: {error}") from None
    if parsed <= 0:
        raise ValueError(f"{what} must be positive")
    return parsed
