"""DIRECT.GET against both servers: the request form (seq, last_by_subj, next_by_subj, batches), the
last-by-subject form, the status replies for misses and bad requests, and no responders without
allow_direct, and reads from a start time."""

from __future__ import annotations

import json
import re

import nats.errors
import pytest
from js_helpers import api

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z")


async def _stream(nc, allow_direct: bool = True) -> None:
    created = await api(nc, "$JS.API.STREAM.CREATE.D", {"name": "D", "subjects": ["d.>"], "storage": "memory",
                                                        "allow_direct": allow_direct})
    assert created["config"]["allow_direct"] is allow_direct
    await nc.request("d.a", b"a1", timeout=2)
    await nc.request("d.b", b"b1", headers={"X-K": "v", "Nats-Msg-Id": "m"}, timeout=2)
    await nc.request("d.a", b"a2", timeout=2)
    await nc.request("d.c", b"", timeout=2)


async def _replies(nc, subject: str, payload: bytes, count: int) -> list[tuple[list, bytes]]:
    """The first `count` replies as (header items with the time stamp checked and blanked, payload)."""
    inbox = nc.new_inbox()
    subscription = await nc.subscribe(inbox)
    await nc.publish(subject, payload, reply=inbox)
    replies = []
    for _ in range(count):
        message = await subscription.next_msg(timeout=2)
        items = []
        for key, value in (message.headers or {}).items():
            if key == "Nats-Time-Stamp":
                assert TIME.fullmatch(value), value
                value = "T"
            items.append((getattr(key, "value", key), value))
        replies.append((items, message.data))
    await subscription.unsubscribe()
    return replies


def _origin(subject: str, seq: int) -> list:
    return [("Nats-Stream", "D"), ("Nats-Subject", subject), ("Nats-Sequence", str(seq)), ("Nats-Time-Stamp", "T")]


def _status(code: str, text: str) -> list:
    return [("Status", code), ("Description", text)]


ANSWERS = [
    ("$JS.API.DIRECT.GET.D", b'{"seq": 2}', ([("X-K", "v"), ("Nats-Msg-Id", "m"), *_origin("d.b", 2)], b"b1")),
    ("$JS.API.DIRECT.GET.D", b'{"last_by_subj": "d.a"}', (_origin("d.a", 3), b"a2")),
    ("$JS.API.DIRECT.GET.D", b'{"next_by_subj": "d.a", "seq": 2}', (_origin("d.a", 3), b"a2")),
    ("$JS.API.DIRECT.GET.D", b'{"seq": 1, "bogus": 1}', (_origin("d.a", 1), b"a1")),
    ("$JS.API.DIRECT.GET.D.d.a", b"", (_origin("d.a", 3), b"a2")),
    ("$JS.API.DIRECT.GET.D.d.*", b"", (_origin("d.c", 4), b"")),
    ("$JS.API.DIRECT.GET.D", b'{"seq": 99}', (_status("404", "Message Not Found"), b"")),
    ("$JS.API.DIRECT.GET.D.d.zz", b"", (_status("404", "Message Not Found"), b"")),
    ("$JS.API.DIRECT.GET.D", b"", (_status("408", "Empty Request"), b"")),
    ("$JS.API.DIRECT.GET.D", b"{}", (_status("408", "Empty Request"), b"")),
    ("$JS.API.DIRECT.GET.D", b'{"seq": 0}', (_status("408", "Empty Request"), b"")),
    ("$JS.API.DIRECT.GET.D", b"{bad", (_status("408", "Malformed Request"), b"")),
    ("$JS.API.DIRECT.GET.D", b'{"seq": "x"}', (_status("408", "Malformed Request"), b"")),
    ("$JS.API.DIRECT.GET.D", b"[1]", (_status("408", "Malformed Request"), b"")),
    ("$JS.API.DIRECT.GET.D", b'{"last_by_subj": "d.a", "seq": 1}', (_status("408", "Bad Request"), b"")),
    ("$JS.API.DIRECT.GET.D.d.a", b'{"seq": 1}', (_status("408", "Bad Request"), b"")),
    ("$JS.API.DIRECT.GET.D", b'{"seq": 1, "batch": 3, "next_by_subj": "d.zz"}',
     (_status("404", "Message Not Found"), b"")),
]


async def test_direct_get_answers(nc):
    await _stream(nc)
    for subject, payload, expected in ANSWERS:
        assert await _replies(nc, subject, payload, 1) == [expected], (subject, payload)


async def test_direct_get_batch_counts_pending_and_ends_with_eob(nc):
    await _stream(nc)
    unfiltered = await _replies(nc, "$JS.API.DIRECT.GET.D", b'{"seq": 1, "batch": 3}', 4)
    assert unfiltered == [
        ([*_origin("d.a", 1), ("Nats-Num-Pending", "3"), ("Nats-Last-Sequence", "0")], b"a1"),
        ([("X-K", "v"), ("Nats-Msg-Id", "m"), *_origin("d.b", 2), ("Nats-Num-Pending", "2"),
          ("Nats-Last-Sequence", "1")], b"b1"),
        ([*_origin("d.a", 3), ("Nats-Num-Pending", "1"), ("Nats-Last-Sequence", "2")], b"a2"),
        ([*_status("204", "EOB"), ("Nats-Num-Pending", "1"), ("Nats-Last-Sequence", "3")], b""),
    ]
    filtered = await _replies(nc, "$JS.API.DIRECT.GET.D", b'{"seq": 1, "batch": 5, "next_by_subj": "d.a"}', 3)
    assert filtered == [
        ([*_origin("d.a", 1), ("Nats-Num-Pending", "1"), ("Nats-Last-Sequence", "0")], b"a1"),
        ([*_origin("d.a", 3), ("Nats-Num-Pending", "0"), ("Nats-Last-Sequence", "1")], b"a2"),
        ([*_status("204", "EOB"), ("Nats-Num-Pending", "0"), ("Nats-Last-Sequence", "3")], b""),
    ]


async def test_direct_get_without_allow_direct_or_stream_has_no_responders(nc):
    await _stream(nc, allow_direct=False)
    for subject in ("$JS.API.DIRECT.GET.D", "$JS.API.DIRECT.GET.D.d.a", "$JS.API.DIRECT.GET.NOPE"):
        with pytest.raises(nats.errors.NoRespondersError):
            await nc.request(subject, b'{"seq": 1}', timeout=2)


async def test_direct_get_follows_allow_direct_turned_on_by_update(nc):
    await _stream(nc, allow_direct=False)
    updated = await api(nc, "$JS.API.STREAM.UPDATE.D", {"name": "D", "subjects": ["d.>"], "storage": "memory",
                                                        "allow_direct": True})
    assert updated["config"]["allow_direct"] is True
    assert await _replies(nc, "$JS.API.DIRECT.GET.D.d.b", b"", 1) == [
        ([("X-K", "v"), ("Nats-Msg-Id", "m"), *_origin("d.b", 2)], b"b1")]


def _batch_origin(subject: str, seq: int, pending: int, last: int) -> list:
    return [*_origin(subject, seq), ("Nats-Num-Pending", str(pending)), ("Nats-Last-Sequence", str(last))]


def _eob(pending: int, last: int, up_to: int | None = None) -> tuple[list, bytes]:
    items = [*_status("204", "EOB"), ("Nats-Num-Pending", str(pending)), ("Nats-Last-Sequence", str(last))]
    return ([*items, ("Nats-UpTo-Sequence", str(up_to))] if up_to else items), b""


B2 = [("X-K", "v"), ("Nats-Msg-Id", "m")]


BATCHES = [
    (b'{"multi_last": ["d.*"]}', [(_batch_origin("d.a", 3, 2, 0), b"a2"), (_batch_origin("d.c", 4, 1, 3), b""),
                                   (_batch_origin("d.b", 6, 0, 4), b"b2"), _eob(0, 6, 6)]),
    (b'{"multi_last": ["d.a", "d.zz"]}', [(_batch_origin("d.a", 3, 0, 0), b"a2"), _eob(0, 3, 6)]),
    (b'{"multi_last": ["d.>"], "batch": 2}', [(_batch_origin("d.a", 3, 3, 0), b"a2"),
                                               (_batch_origin("d.c", 4, 2, 3), b""), _eob(2, 4, 6)]),
    (b'{"multi_last": ["d.>"], "up_to_seq": 3}', [([*B2, *_batch_origin("d.b", 2, 1, 0)], b"b1"),
                                                   (_batch_origin("d.a", 3, 0, 2), b"a2"), _eob(0, 3, 3)]),
    (b'{"multi_last": ["d.zz"]}', [(_status("404", "No Results"), b"")]),
    (b'{"multi_last": ["d.a"], "up_to_time": "2020-01-01T00:00:00Z"}', [(_status("404", "No Results"), b"")]),
    (b'{"multi_last": ["d.a"], "last_by_subj": "d.a"}', [(_status("408", "Bad Request"), b"")]),
    (b'{"multi_last": []}', [(_status("408", "Empty Request"), b"")]),
    (b'{"seq": 1, "batch": 3, "max_bytes": 5}', [(_batch_origin("d.a", 1, 5, 0), b"a1"), _eob(5, 1)]),
    (b'{"next_by_subj": "d.a", "batch": 2}', [(_batch_origin("d.a", 1, 1, 0), b"a1"),
                                               (_batch_origin("d.a", 3, 0, 1), b"a2"), _eob(0, 3)]),
]


async def test_direct_get_multi_last_and_batch_limits(nc):
    await _stream(nc)
    await nc.request("d.x.y", b"xy", timeout=2)
    await nc.request("d.b", b"b2", timeout=2)
    for payload, expected in BATCHES:
        assert await _replies(nc, "$JS.API.DIRECT.GET.D", payload, len(expected)) == expected, payload


async def test_direct_get_multi_last_up_to_a_time(nc):
    await _stream(nc)
    third = await nc.request("$JS.API.DIRECT.GET.D", b'{"seq": 3}', timeout=2)
    up_to_time = third.headers["Nats-Time-Stamp"]
    await nc.request("d.b", b"b2", timeout=2)
    payload = f'{{"multi_last": ["d.>"], "up_to_time": "{up_to_time}"}}'.encode()
    # up to the third message's time means stored before it
    assert await _replies(nc, "$JS.API.DIRECT.GET.D", payload, 3) == [
        (_batch_origin("d.a", 1, 1, 0), b"a1"), ([*B2, *_batch_origin("d.b", 2, 0, 1)], b"b1"), _eob(0, 2, 2)]


async def test_direct_get_from_a_start_time(nc):
    await _stream(nc)
    second = await nc.request("$JS.API.DIRECT.GET.D", b'{"seq": 2}', timeout=2)
    at = second.headers["Nats-Time-Stamp"]  # the first message stored at or after it is the second
    b2 = [*B2, *_origin("d.b", 2)]
    answers = [
        ({"start_time": at}, [(b2, b"b1")]),
        ({"start_time": at, "next_by_subj": "d.a"}, [(_origin("d.a", 3), b"a2")]),
        ({"start_time": at, "batch": 2}, [([*B2, *_batch_origin("d.b", 2, 2, 0)], b"b1"),
                                          (_batch_origin("d.a", 3, 1, 2), b"a2"), _eob(1, 3)]),
        ({"start_time": at, "batch": 5, "next_by_subj": "d.a"}, [(_batch_origin("d.a", 3, 0, 0), b"a2"), _eob(0, 3)]),
        ({"start_time": "2020-01-01T02:00:00.1234567891+02:00"}, [(_origin("d.a", 1), b"a1")]),
        ({"start_time": "2020-01-01T00:00:00Z", "seq": 0}, [(_origin("d.a", 1), b"a1")]),
        ({"start_time": at, "multi_last": ["d.b"]}, [([*B2, *_batch_origin("d.b", 2, 0, 0)], b"b1"), _eob(0, 2, 4)]),
        ({"start_time": None, "seq": 1}, [(_origin("d.a", 1), b"a1")]),
        ({"start_time": "2099-01-01T00:00:00Z"}, [(_status("404", "Message Not Found"), b"")]),
        ({"start_time": at, "next_by_subj": "d.zz"}, [(_status("404", "Message Not Found"), b"")]),
        ({"start_time": at, "seq": 1}, [(_status("408", "Bad Request"), b"")]),
        ({"start_time": at, "last_by_subj": "d.a"}, [(_status("408", "Bad Request"), b"")]),
        ({"start_time": "2020-01-01t00:00:00z"}, [(_status("408", "Malformed Request"), b"")]),
        ({"start_time": "2020-01-01 00:00:00Z"}, [(_status("408", "Malformed Request"), b"")]),
        ({"start_time": ""}, [(_status("408", "Malformed Request"), b"")]),
        ({"start_time": 5}, [(_status("408", "Malformed Request"), b"")]),
    ]
    for request, expected in answers:
        payload = json.dumps(request).encode()
        assert await _replies(nc, "$JS.API.DIRECT.GET.D", payload, len(expected)) == expected, request
