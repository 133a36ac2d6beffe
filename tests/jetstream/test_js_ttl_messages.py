"""Per-message TTL and limit markers against both servers: the stream flags as nats-server normalises
them, `Nats-TTL` values accepted and refused, messages leaving at their TTL (and `never` staying past
max_age), MaxAge markers on a subject's last message, TTLs raised to the marker TTL, and TTLs kept
across a restart."""

from __future__ import annotations

import base64
import time

from js_helpers import api, poll_until

SECOND = 1_000_000_000


def _config(**extra) -> dict:
    return {"name": "T", "subjects": ["t.>"], "storage": "memory", **extra}


async def _stored(nc, stream: str = "T") -> dict[int, tuple[str, bytes, bytes]]:
    """seq -> (subject, header block, payload) of every stored message."""
    state = (await api(nc, f"$JS.API.STREAM.INFO.{stream}"))["state"]
    found = {}
    for seq in range(state["first_seq"], state["last_seq"] + 1):
        answer = await api(nc, f"$JS.API.STREAM.MSG.GET.{stream}", {"seq": seq})
        if "message" in answer:
            message = answer["message"]
            found[seq] = (message["subject"], base64.b64decode(message.get("hdrs", "")),
                          base64.b64decode(message.get("data", "")))
    return found


FLAGS = [
    ({"allow_msg_ttl": True}, {"allow_msg_ttl": True, "allow_rollup_hdrs": False}),
    ({"subject_delete_marker_ttl": SECOND},
     {"allow_msg_ttl": True, "allow_rollup_hdrs": True, "subject_delete_marker_ttl": SECOND}),
    ({"subject_delete_marker_ttl": 0}, {"allow_msg_ttl": False, "allow_rollup_hdrs": False}),
]


async def test_ttl_flags_normalised(nc):
    for extra, expected in FLAGS:
        config = (await api(nc, "$JS.API.STREAM.CREATE.T", _config(**extra)))["config"]
        assert {key: config.get(key) for key in expected} == expected
        assert ("subject_delete_marker_ttl" in config) == bool(extra.get("subject_delete_marker_ttl"))
        assert config["metadata"]["_nats.req.level"] == ("1" if expected["allow_msg_ttl"] else "0")
        assert (await api(nc, "$JS.API.STREAM.DELETE.T"))["success"] is True


async def test_marker_ttl_refused(nc):
    for extra, description in [
        ({"subject_delete_marker_ttl": SECOND // 2}, "subject delete marker TTL must be at least 1 second"),
        ({"subject_delete_marker_ttl": -1}, "subject delete marker TTL must not be negative"),
    ]:
        answer = await api(nc, "$JS.API.STREAM.CREATE.T", _config(**extra))
        assert answer["error"] == {"code": 500, "err_code": 10052, "description": description}


async def test_ttl_can_be_turned_on_but_not_off(nc):
    await api(nc, "$JS.API.STREAM.CREATE.T", _config())
    on = await api(nc, "$JS.API.STREAM.UPDATE.T", _config(allow_msg_ttl=True))
    assert on["config"]["allow_msg_ttl"] is True
    off = await api(nc, "$JS.API.STREAM.UPDATE.T", _config(allow_msg_ttl=False))
    assert off["error"] == {"code": 500, "err_code": 10052, "description": "message TTL status can not be disabled"}


TTL_VALUES = [
    ("1s", True), ("1", True), ("01", True), ("never", True), ("NEVER", True), ("1m", True), ("1h30m", True),
    ("1.5s", True), ("1000ms", True), ("2s500ms", True), (" 2 ", True),
    ("0", False), ("abc", False), ("500ms", False), ("999ms", False), ("-1", False), ("-5s", False),
    ("+1", False), ("0x10", False), ("1e3", False), ("forever", False), ("1d", False),
    ("10000000000000000000", False),
]


async def test_ttl_header_values(nc):
    await api(nc, "$JS.API.STREAM.CREATE.T", _config(allow_msg_ttl=True))
    seq = 0
    for value, accepted in TTL_VALUES:
        reply = await nc.request("t.a", b"v", headers={"Nats-TTL": value}, timeout=2)
        if accepted:
            seq += 1
            assert reply.data == b'{"stream":"T","seq":%d}' % seq, value
        else:
            assert reply.data == (b'{"error":{"code":400,"err_code":10165,"description":"invalid per-message TTL"},'
                                  b'"stream":"T","seq":0}'), value


DISABLED = b'{"error":{"code":400,"err_code":10166,"description":"per-message TTL is disabled"}'
INVALID = b'{"error":{"code":400,"err_code":10165,"description":"invalid per-message TTL"}'
WRONG_LAST = b'{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: '
ROLLUP = b'{"error":{"code":500,"err_code":10111,"description":"rollup not permitted"}'


ORDER = [
    (False, {"Nats-TTL": "never"}, DISABLED),
    (False, {"Nats-TTL": "1", "Nats-Expected-Last-Sequence": "5"}, DISABLED),
    (False, {"Nats-TTL": "abc"}, INVALID),
    (False, {"Nats-TTL": "abc", "Nats-Expected-Last-Sequence": "5"}, WRONG_LAST + b'1"}'),
    (False, {"Nats-TTL": "abc", "Nats-Rollup": "x"}, ROLLUP),
    (False, {"Nats-TTL": ""}, b'{"stream":"T","seq":2}'),
    (True, {"Nats-TTL": "abc", "Nats-Expected-Last-Sequence": "5"}, WRONG_LAST + b'1"}'),
    (True, {"Nats-TTL": "abc", "Nats-Msg-Id": "a"}, INVALID),
    (True, {"Nats-TTL": "abc", "Nats-Msg-Id": "first"}, b'{"stream":"T","seq":1,"duplicate": true}'),
]


async def test_ttl_checks_in_the_reference_order(nc):
    for allow, headers, expected in ORDER:
        await api(nc, "$JS.API.STREAM.CREATE.T", _config(allow_msg_ttl=allow))
        await nc.request("t.a", b"v", headers={"Nats-Msg-Id": "first"}, timeout=2)
        reply = await nc.request("t.a", b"v", headers=headers, timeout=2)
        assert reply.data.startswith(expected), (allow, headers, reply.data)
        assert (await api(nc, "$JS.API.STREAM.DELETE.T"))["success"] is True


async def test_messages_leave_at_their_ttl_and_never_outlives_max_age(nc):
    await api(nc, "$JS.API.STREAM.CREATE.T", _config(allow_msg_ttl=True, max_age=2 * SECOND))
    published = time.monotonic()
    for subject, ttl in (("t.short", "1"), ("t.never", "never"), ("t.plain", None)):
        await nc.request(subject, b"v", headers={"Nats-TTL": ttl} if ttl else None, timeout=2)
    assert sorted(subject for subject, _, _ in (await _stored(nc)).values()) == ["t.never", "t.plain", "t.short"]

    async def short_gone():
        return [s for s, _, _ in (await _stored(nc)).values()] == ["t.never", "t.plain"]
    assert await poll_until(short_gone, timeout=3)
    assert time.monotonic() - published >= 0.9  # and before max_age took t.plain

    async def aged():
        return [s for s, _, _ in (await _stored(nc)).values()] == ["t.never"]
    assert await poll_until(aged, timeout=3)
    state = (await api(nc, "$JS.API.STREAM.INFO.T"))["state"]
    assert (state["messages"], state["first_seq"], state["last_seq"]) == (1, 2, 3)


async def test_markers_replace_a_subjects_last_message_and_expire(nc):
    await api(nc, "$JS.API.STREAM.CREATE.T", _config(subject_delete_marker_ttl=SECOND))
    await nc.request("t.gone", b"v", headers={"Nats-TTL": "1"}, timeout=2)
    await nc.request("t.two", b"v", headers={"Nats-TTL": "1"}, timeout=2)
    await nc.request("t.two", b"w", headers={"Nats-TTL": "1"}, timeout=2)
    await nc.request("t.kept", b"k", timeout=2)
    marker = b"NATS/1.0\r\nNats-Marker-Reason: MaxAge\r\nNats-TTL: 1s\r\nNats-Rollup: sub\r\n\r\n"

    async def marked():
        stored = await _stored(nc)
        return {subject: (headers, data) for subject, headers, data in stored.values()} == {
            "t.kept": (b"", b"k"), "t.gone": (marker, b""), "t.two": (marker, b"")}
    assert await poll_until(marked, timeout=3)  # one marker per subject, whatever the sweep order

    async def markers_gone():
        return [subject for subject, _, _ in (await _stored(nc)).values()] == ["t.kept"]
    assert await poll_until(markers_gone, timeout=3)


async def test_ttl_below_the_marker_ttl_is_raised_to_it(nc):
    await api(nc, "$JS.API.STREAM.CREATE.T", _config(subject_delete_marker_ttl=2 * SECOND))
    await nc.request("t.a", b"v", headers={"Nats-TTL": "1"}, timeout=2)
    await nc.request("t.b", b"v", headers={"Nats-TTL": "1500ms", "X": "y"}, timeout=2)
    await nc.request("t.c", b"v", headers={"Nats-TTL": "3s"}, timeout=2)
    assert await _stored(nc) == {1: ("t.a", b"NATS/1.0\r\nNats-TTL: 2\r\n\r\n", b"v"),
                                 2: ("t.b", b"NATS/1.0\r\nX: y\r\nNats-TTL: 2\r\n\r\n", b"v"),
                                 3: ("t.c", b"NATS/1.0\r\nNats-TTL: 3s\r\n\r\n", b"v")}


async def test_ttl_kept_across_a_restart(server_kind, server_factory, tmp_path):
    import nats

    arguments = ["-js", "-sd", str(tmp_path / "store")]
    first = server_factory(server_kind, extra_args=arguments)
    nc = await nats.connect(first.url)
    await api(nc, "$JS.API.STREAM.CREATE.T", {**_config(allow_msg_ttl=True), "storage": "file"})
    published = time.monotonic()
    await nc.request("t.a", b"v", headers={"Nats-TTL": "2"}, timeout=2)
    await nc.request("t.b", b"w", timeout=2)
    await nc.close()
    first.stop()
    second = server_factory(server_kind, extra_args=arguments)
    nc = await nats.connect(second.url)
    try:
        assert [s for s, _, _ in (await _stored(nc)).values()] == ["t.a", "t.b"]

        async def expired():
            return [s for s, _, _ in (await _stored(nc)).values()] == ["t.b"]
        assert await poll_until(expired, timeout=4)
        assert time.monotonic() - published >= 1.9
    finally:
        await nc.close()


async def test_max_age_leaves_markers_but_delete_and_purge_do_not(nc):
    await api(nc, "$JS.API.STREAM.CREATE.T", _config(max_age=SECOND, subject_delete_marker_ttl=2 * SECOND))
    await nc.request("t.aged", b"a", timeout=2)
    await nc.request("t.deleted", b"d", timeout=2)
    await nc.request("t.purged", b"p", timeout=2)
    assert (await api(nc, "$JS.API.STREAM.MSG.DELETE.T", {"seq": 2}))["success"] is True
    assert (await api(nc, "$JS.API.STREAM.PURGE.T", {"filter": "t.purged"}))["purged"] == 1
    marker = b"NATS/1.0\r\nNats-Marker-Reason: MaxAge\r\nNats-TTL: 2s\r\nNats-Rollup: sub\r\n\r\n"

    async def marked():
        return await _stored(nc) == {4: ("t.aged", marker, b"")}
    assert await poll_until(marked, timeout=3)
