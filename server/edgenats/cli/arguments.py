"""Value types for `edgenats` flags shared by command groups: Go-style durations, K:V headers, byte sizes."""

from __future__ import annotations

import argparse
import re

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_SIZE = re.compile(r"(\d+)\s*(b|k|kb|kib|m|mb|mib)?", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20}


def parse_duration(text: str) -> float:
    """Seconds from `2s`, `500ms`, `1m30s` (as the nats CLI takes them) or a plain number of seconds."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        position, seconds = 0, 0.0
        for match in _DURATION_PART.finditer(text):
            if match.start() != position:
                break
            seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
            position = match.end()
        if position != len(text) or not text:
            raise argparse.ArgumentTypeError(f"invalid duration {text!r} (use e.g. 2s, 500ms, 1m)") from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"duration must be positive: {text!r}")
    return seconds


def parse_header(text: str) -> tuple[str, str]:
    """A `Key:Value` header flag as a (key, value) pair; the value may itself contain colons."""
    key, separator, value = text.partition(":")
    if not separator or not key.strip():
        raise argparse.ArgumentTypeError(f"invalid header {text!r} (use Key:Value)")
    return key.strip(), value.strip()


def parse_size_list(text: str) -> list[int]:
    """Byte sizes from a comma-separated list such as `16,1k` or `1KiB`."""
    sizes = []
    for item in text.split(","):
        match = _SIZE.fullmatch(item.strip())
        if match is None:
            raise argparse.ArgumentTypeError(f"invalid size {item!r} (use e.g. 16, 1k, 1KiB)")
        sizes.append(int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "").lower()])
    return sizes


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value
