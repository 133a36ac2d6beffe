"""Value formats of the monitoring JSON, checked against what Go and nats-server print."""

from __future__ import annotations

import json

import pytest
from edgenats.monitor.formats import go_duration, go_float, go_json, go_uptime, rfc3339


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"),
    (1e-9, "1ns"),
    (336e-6, "336µs"),
    (0.0045, "4.5ms"),
    (0.200612676, "200.612676ms"),
    (1, "1s"),
    (62.5, "1m2.5s"),
    (408, "6m48s"),
    (3600, "1h0m0s"),
    (3723.25, "1h2m3.25s"),
    (-1.5, "-1.5s"),
])
def test_go_duration_prints_like_time_duration_string(seconds, text):
    assert go_duration(seconds) == text


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"),
    (59.9, "59s"),
    (62, "1m2s"),
    (3 * 3600 + 4, "3h0m4s"),
    (86400 + 3661, "1d1h1m1s"),
    (366 * 86400, "1y1d0h0m0s"),
])
def test_go_uptime_prints_whole_seconds_in_nats_server_style(seconds, text):
    assert go_uptime(seconds) == text


@pytest.mark.parametrize(("epoch", "text"), [
    (0, "1970-01-01T00:00:00Z"),
    (1.5, "1970-01-01T00:00:01.5Z"),
    (1700000000.123456, "2023-11-14T22:13:20.123456Z"),
])
def test_rfc3339_is_utc_with_trimmed_fraction(epoch, text):
    assert rfc3339(epoch) == text


def test_rfc3339_now_has_nanosecond_precision_format():
    now = rfc3339()
    assert now.endswith("Z") and "T" in now
    seconds, _, fraction = now[:-1].partition(".")
    assert len(seconds) == 19 and len(fraction) <= 9


def test_whole_floats_are_written_without_a_fraction():
    assert json.dumps(go_float(2.0)) == "2"
    assert json.dumps(go_float(0.25)) == "0.25"


def test_json_escapes_html_characters_and_keeps_utf8_like_go():
    body = go_json({"subject": "a.>", "rtt": "336µs", "x": "<&>"}, pretty=False)
    assert body == '{"subject":"a.\\u003e","rtt":"336µs","x":"\\u003c\\u0026\\u003e"}'.encode()
    assert json.loads(body) == {"subject": "a.>", "rtt": "336µs", "x": "<&>"}
