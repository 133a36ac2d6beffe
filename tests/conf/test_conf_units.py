"""parse_size and parse_duration: the value units options.py applies to config values."""

import pytest
from edgenats.conf.units import parse_duration, parse_size


@pytest.mark.parametrize("value, expected", [
    (1024, 1024), (0, 0), (-1, -1), ("1024", 1024), ("1k", 1000), ("1K", 1000), ("64KB", 65536),
    ("1kib", 1024), ("1MB", 1024**2), ("1m", 10**6), ("2 GiB", 2 * 1024**3), ("1g", 10**9),
    ("1TB", 1024**4), (" 8mb ", 8 * 1024**2), ("1.5MB", 1572864),
])
def test_parse_size(value, expected):
    assert parse_size(value) == expected


@pytest.mark.parametrize("value", ["", "MB", "1 XB", "1.2.3", "ten", "1k1", True, None, 1.5])
def test_parse_size_rejects(value):
    with pytest.raises(ValueError):
        parse_size(value)


@pytest.mark.parametrize("value, expected", [
    ("2m", 120.0), ("10s", 10.0), ("1m30s", 90.0), ("250ms", 0.25), ("1h", 3600.0), ("1.5s", 1.5),
    ("1h2m3s", 3723.0), ("500us", 0.0005), ("0", 0.0), ("-1s", -1.0), (" 5s ", 5.0),
    (30, 30.0), (0.5, 0.5), (2_000_000, 2_000_000.0),
])
def test_parse_duration(value, expected):
    assert parse_duration(value) == pytest.approx(expected)
    assert isinstance(parse_duration(value), float)


@pytest.mark.parametrize("value", ["", "10", "s", "1d", "1m30", "1..5s", "ten seconds", False, None])
def test_parse_duration_rejects(value):
    with pytest.raises(ValueError):
        parse_duration(value)
