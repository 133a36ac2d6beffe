"""The leaf protocol parser without a network: every operation form, any split of the stream, and
the arguments nats-server closes a link for (transcript A2)."""

from __future__ import annotations

import pytest
from edgenats.protocol.errors import MalformedArguments, PayloadTooLarge, UnknownOperation
from edgenats.protocol.leaf_parser import LeafProtocolParser
from hypothesis import given
from hypothesis import strategies as st

STREAM = (
    b'INFO {"server_id":"x","leafnode_urls":[]}\r\n'
    b"LS+ foo\r\nls+ q.> workers 3\r\nLS- foo\r\nLS- q.> workers\r\n"
    b"LMSG a.b 5\r\nhello\r\n"
    b"LMSG a.b rep.1 0\r\n\r\n"
    b"LMSG a.b + rep.2 g1 g2 2\r\nhi\r\n"
    b"lmsg a.b | g1 3\r\nabc\r\n"
    b"HMSG a.h 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
    b"HMSG a.h rep.3 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
    b"HMSG a.h + rep.4 g1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
    b"PING\r\nPONG\r\n+OK\r\n-ERR 'Loop detected'\r\n"
)

EXPECTED = [
    ("info", {"server_id": "x", "leafnode_urls": []}),
    ("sub", b"foo", None, 1), ("sub", b"q.>", b"workers", 3),
    ("unsub", b"foo", None), ("unsub", b"q.>", b"workers"),
    ("msg", b"a.b", None, None, -1, 5, b"hello\r\n"),
    ("msg", b"a.b", b"rep.1", None, -1, 0, b"\r\n"),
    ("msg", b"a.b", b"rep.2", [b"g1", b"g2"], -1, 2, b"hi\r\n"),
    ("msg", b"a.b", None, [b"g1"], -1, 3, b"abc\r\n"),
    ("msg", b"a.h", None, None, 12, 14, b"NATS/1.0\r\n\r\nhi\r\n"),
    ("msg", b"a.h", b"rep.3", None, 12, 14, b"NATS/1.0\r\n\r\nhi\r\n"),
    ("msg", b"a.h", b"rep.4", [b"g1"], 12, 14, b"NATS/1.0\r\n\r\nhi\r\n"),
    ("ping",), ("pong",), ("error", "Loop detected"),
]


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def on_info(self, info):
        self.calls.append(("info", info))

    def on_connect(self, options):
        self.calls.append(("connect", options))

    def on_leaf_sub(self, subject, queue, weight):
        self.calls.append(("sub", subject, queue, weight))

    def on_leaf_unsub(self, subject, queue):
        self.calls.append(("unsub", subject, queue))

    def on_leaf_msg(self, subject, reply, queues, header_size, size, payload_crlf):
        self.calls.append(("msg", subject, reply, queues, header_size, size, bytes(payload_crlf)))

    def on_ping(self):
        self.calls.append(("ping",))

    def on_pong(self):
        self.calls.append(("pong",))

    def on_peer_error(self, text):
        self.calls.append(("error", text))

    def on_unexpected_first_operation(self):
        self.calls.append(("unexpected",))


def parse(chunks, max_payload: int = 1024) -> list[tuple]:
    recorder = Recorder()
    parser = LeafProtocolParser(recorder, 4096, max_payload)
    for chunk in chunks:
        parser.feed(chunk)
    return recorder.calls


def test_every_operation_form():
    assert parse([STREAM]) == EXPECTED


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_split_of_the_stream_gives_the_same_operations(cuts):
    points = sorted(set(cuts))
    chunks = [STREAM[start:stop] for start, stop in zip([0, *points], [*points, len(STREAM)], strict=True)]
    assert parse([chunk for chunk in chunks if chunk]) == EXPECTED


@pytest.mark.parametrize("data, error", [
    (b"LS+ foo grp\r\n", MalformedArguments),
    (b"LS+\r\n", MalformedArguments),
    (b"LMSG foo x q 1\r\nx\r\n", MalformedArguments),
    (b"LMSG foo + rep 1\r\nx\r\n", MalformedArguments),
    (b"LMSG foo 2000\r\n", PayloadTooLarge),
    (b"LMSG foo 1\r\nxyz", UnknownOperation),
    (b"HMSG foo 20 10\r\n", MalformedArguments),
    (b"SUB foo 1\r\n", MalformedArguments),
    (b"WHAT\r\n", UnknownOperation),
], ids=["queue-without-weight", "no-subject", "bad-marker", "reply-without-queue", "too-large", "no-crlf",
        "header-larger-than-total", "client-sub", "unknown"])
def test_arguments_that_close_the_link(data, error):
    with pytest.raises(error):
        parse([data])


def test_vertical_tab_and_form_feed_belong_to_leaf_subjects_and_queue_names():
    """As nats-server's splitArg: only space, tab, CR and LF separate LS+/LS- arguments."""
    assert parse([b"LS+ a\x0bb q\x0cx 2\r\nLS+ a\x0cb\r\nLS- a\x0bb q\x0cx\r\nLS- a\x0cb\t\r\n"]) == [
        ("sub", b"a\x0bb", b"q\x0cx", 2),
        ("sub", b"a\x0cb", None, 1),
        ("unsub", b"a\x0bb", b"q\x0cx"),
        ("unsub", b"a\x0cb", None),
    ]


def test_before_connect_anything_but_connect_is_reported():
    recorder = Recorder()
    parser = LeafProtocolParser(recorder, 4096, 1024)
    parser.connect_required = True
    parser.feed(b"GARBAGE\r\n")
    assert recorder.calls == [("unexpected",)]


def test_input_is_held_while_paused():
    recorder = Recorder()
    parser = LeafProtocolParser(recorder, 4096, 1024)
    parser.pause()
    parser.feed(b"PING\r\nLMSG a 1\r\n")
    parser.feed(b"x\r\n")
    assert recorder.calls == []
    parser.resume()
    assert recorder.calls == [("ping",), ("msg", b"a", None, None, -1, 1, b"x\r\n")]
