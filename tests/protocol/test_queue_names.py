"""Queue names on the wire, both servers: nats-server has no queue-name rule beyond being one protocol
argument (split only at space, tab, CR and LF), so wildcards, dots, control bytes, vertical tab, form
feed and bytes that are not UTF-8 all name a queue group; only the control-line limit bounds length.
"""

from __future__ import annotations

import pytest
from rawclient import RawClient

ODD_QUEUE_NAMES = [
    b"*",
    b">",
    b"a.b",
    b"q.>",
    b"q*",
    b"\xc3\xa9t\xc3\xa9",
    b"\xff\xfe",
    b"q\x00x",
    b"q\x01x",
    b"q\x7fx",
    b"q\x1bx",
    b"q\x0bx",
    b"q\x0cx",
    b"q'\"\\x",
    b"$SYS",
    b"Q" * 3000,
]


def _ids(names: list[bytes]) -> list[str]:
    return [repr(name[:12]) + (f"x{len(name)}" if len(name) > 12 else "") for name in names]


@pytest.mark.parametrize("queue", ODD_QUEUE_NAMES, ids=_ids(ODD_QUEUE_NAMES))
def test_odd_queue_name_is_accepted_and_delivers(server, queue):
    with RawClient.handshake(server.port, verbose=True) as client:
        client.send(b"SUB qn.one " + queue + b" 7\r\n")
        assert client.fence() == b"+OK\r\n"
        client.send(b"PUB qn.one 2\r\nhi\r\n")
        assert client.fence() == b"+OK\r\nMSG qn.one 7 2\r\nhi\r\n"


@pytest.mark.parametrize("queue", ODD_QUEUE_NAMES, ids=_ids(ODD_QUEUE_NAMES))
def test_odd_queue_name_is_one_group_apart_from_a_similar_name(server, queue):
    """Two members of the group share the messages; a group named by the name's first byte (or, for a
    one-byte name, that byte twice) gets its own copy."""
    similar = queue[:1] if len(queue) > 1 else queue * 2
    subject = b"qn.group"
    count = 10
    with (
        RawClient.handshake(server.port) as first,
        RawClient.handshake(server.port) as second,
        RawClient.handshake(server.port) as prefix,
        RawClient.handshake(server.port) as publisher,
    ):
        first.send(b"SUB %s %s 1\r\n" % (subject, queue))
        second.send(b"SUB %s %s 2\r\n" % (subject, queue))
        prefix.send(b"SUB %s %s 3\r\n" % (subject, similar))
        for member in (first, second, prefix):
            assert member.fence() == b""
        publisher.send(b"".join(b"PUB %s 2\r\n%02d\r\n" % (subject, number) for number in range(count)))
        assert publisher.fence() == b""
        assert [message.payload for message in prefix.read_messages(count)] == [b"%02d" % n for n in range(count)]
        shared = first.fence() + second.fence()
    assert shared.count(b"MSG qn.group ") == count


@pytest.mark.parametrize("separator", [b"\x0b", b"\x0c"], ids=["vertical-tab", "form-feed"])
def test_vertical_tab_and_form_feed_do_not_split_a_subscribed_subject(server, separator):
    """`SUB foo<VT>bar 1` is one subject, not subject `foo` in queue `bar`."""
    with RawClient.handshake(server.port, verbose=True) as client:
        client.send(b"SUB qn.foo" + separator + b"bar 1\r\nSUB qn.foo" + separator + b"bar q 2\r\n")
        assert client.fence() == b"+OK\r\n+OK\r\n"
        client.send(b"PUB qn.foo 2\r\nhi\r\n")
        assert client.fence() == b"+OK\r\n"


def test_queue_name_past_the_control_line_limit_closes(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB qn.long " + b"Q" * 5000 + b" 1\r\n")
        assert client.read_until_eof() == b"-ERR 'maximum control line exceeded'\r\n"
