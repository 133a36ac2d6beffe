"""Publish/subscribe on the wire (spec §5, §6, §7, §10, §11): wildcards, subject validation, UNSUB,
echo, queue groups, headers, reply subjects, no-responders and request/reply with real clients.

Subjects that other tests in this module never subscribe to are used where a stray subscriber
would change the outcome (no-responders, queue distribution), since the server is shared.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import nats
import pytest
from nats.errors import NoRespondersError
from rawclient import Message, RawClient, parse_operations


def test_star_matches_exactly_one_token(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB foo.* 1\r\nPUB foo 1\r\na\r\nPUB foo.bar 1\r\nb\r\nPUB foo.bar.baz 1\r\nc\r\n")
        assert client.fence() == b"MSG foo.bar 1 1\r\nb\r\n"


def test_full_wildcard_matches_one_or_more_trailing_tokens(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB foo.> 1\r\nPUB foo 1\r\na\r\nPUB foo.bar 1\r\nb\r\nPUB foo.bar.baz 1\r\nc\r\n")
        assert client.fence() == b"MSG foo.bar 1 1\r\nb\r\nMSG foo.bar.baz 1 1\r\nc\r\n"


def test_star_inside_a_token_is_literal(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB a* 1\r\nPUB ab 1\r\nx\r\nPUB a* 1\r\ny\r\n")
        assert client.fence() == b"MSG a* 1 1\r\ny\r\n"


def test_star_token_matches_a_literal_star_token(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB * 3\r\nPUB a* 1\r\ny\r\n")
        assert client.fence() == b"MSG a* 3 1\r\ny\r\n"


def test_greater_than_inside_a_token_is_literal(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB foo> 1\r\nPUB foo.x 1\r\nx\r\nPUB foo> 1\r\ny\r\n")
        assert client.fence() == b"MSG foo> 1 1\r\ny\r\n"


def test_delivered_subject_is_the_published_one(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB orders.*.new 1\r\nPUB orders.eu.new 2\r\nok\r\n")
        assert client.fence() == b"MSG orders.eu.new 1 2\r\nok\r\n"


def test_sid_is_echoed_verbatim(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB foo abc\r\nPUB foo 1\r\nx\r\n")
        assert client.fence() == b"MSG foo abc 1\r\nx\r\n"


def test_duplicate_sid_is_ignored(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB foo 1\r\nSUB bar 1\r\nPUB bar 1\r\nb\r\nPUB foo 1\r\nf\r\n")
        assert client.fence() == b"MSG foo 1 1\r\nf\r\n"


@pytest.mark.parametrize("subject", [b"foo..bar", b"foo.>.bar", b".foo", b"foo."])
def test_invalid_subscribe_subject_is_reported_and_connection_stays_open(server, subject):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB " + subject + b" 1\r\n")
        assert client.fence() == b"-ERR 'Invalid Subject'\r\n"


def test_pedantic_wildcard_publish_is_reported_and_still_delivered(server):
    with RawClient.handshake(server.port, pedantic=True) as client:
        client.send(b"SUB foo.> 1\r\nPUB foo.* 1\r\nx\r\nPUB foo..bar 1\r\ny\r\n")
        assert client.fence() == (
            b"-ERR 'Invalid Publish Subject'\r\nMSG foo.* 1 1\r\nx\r\n-ERR 'Invalid Publish Subject'\r\n"
        )


def test_non_pedantic_wildcard_publish_is_matched_as_literal_tokens(server):
    with RawClient.handshake(server.port, pedantic=False) as client:
        client.send(b"SUB foo.bar 1\r\nSUB foo.* 2\r\nPUB foo.* 1\r\nx\r\n")
        assert client.fence() == b"MSG foo.* 2 1\r\nx\r\n"


def test_unsub_stops_delivery(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB foo 1\r\nPUB foo 1\r\na\r\nUNSUB 1\r\nPUB foo 1\r\nb\r\n")
        assert client.fence() == b"MSG foo 1 1\r\na\r\n"


def test_unsub_with_max_delivers_exactly_max(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB foo 1\r\nUNSUB 1 2\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\n")
        assert client.fence() == b"MSG foo 1 1\r\na\r\nMSG foo 1 1\r\nb\r\n"


def test_unsub_with_max_counts_messages_already_delivered(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB foo 1\r\nPUB foo 1\r\na\r\nUNSUB 1 2\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\n")
        assert client.fence() == b"MSG foo 1 1\r\na\r\nMSG foo 1 1\r\nb\r\n"


def test_unsub_with_max_zero_removes_at_once(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB foo 1\r\nUNSUB 1 0\r\nPUB foo 1\r\na\r\n")
        assert client.fence() == b""


def test_unsub_of_unknown_sid_is_acknowledged_and_ignored(server):
    with RawClient.handshake(server.port, verbose=True) as client:
        client.send(b"SUB foo 1\r\nUNSUB 99\r\nPUB foo 1\r\na\r\n")
        assert client.fence() == b"+OK\r\n+OK\r\n+OK\r\nMSG foo 1 1\r\na\r\n"


def test_echo_false_suppresses_own_messages_only(server):
    with (
        RawClient.handshake(server.port, echo=False) as publisher,
        RawClient.handshake(server.port) as other,
    ):
        other.send(b"SUB echo.test 1\r\n")
        assert other.fence() == b""
        publisher.send(b"SUB echo.test 1\r\nSUB echo.test q 2\r\nPUB echo.test 1\r\nx\r\n")
        assert publisher.fence() == b""
        assert other.fence() == b"MSG echo.test 1 1\r\nx\r\n"


def test_queue_subscriber_gets_a_plain_msg_line(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB qline g 1\r\nPUB qline r 1\r\nx\r\n")
        assert client.fence() == b"MSG qline 1 r 1\r\nx\r\n"


def _publish_to_queue_members(port: int, subject: bytes, members: int, count: int) -> list[list[bytes]]:
    """Publish `count` numbered messages to a queue group of `members` connections; payloads per member."""
    clients = [RawClient.handshake(port) for _ in range(members)]
    try:
        for client in clients:
            client.send(b"SUB " + subject + b" workers 1\r\n")
            assert client.fence() == b""
        with RawClient.handshake(port) as publisher:
            payloads = [b"%d" % i for i in range(count)]
            publisher.send(b"".join(b"PUB %s %d\r\n%s\r\n" % (subject, len(p), p) for p in payloads))
            # Once the publisher's PONG arrives every message is queued for the members, so each
            # member's own PONG comes after all of its messages.
            assert publisher.fence() == b""
        received = []
        for client in clients:
            received.append([message.payload for message in _messages(client.fence())])
        return received
    finally:
        for client in clients:
            client.close()


def _messages(data: bytes) -> list[Message]:
    ops, _ = parse_operations(data)
    assert all(isinstance(op, Message) for op in ops), ops
    return ops


def test_queue_group_delivers_each_message_exactly_once(server):
    received = _publish_to_queue_members(server.port, b"queue.once", members=3, count=300)
    counts = Counter(payload for member in received for payload in member)
    assert sorted(counts) == sorted(b"%d" % i for i in range(300))
    assert set(counts.values()) == {1}


def test_queue_group_spreads_messages_over_every_member(server):
    received = _publish_to_queue_members(server.port, b"queue.spread", members=3, count=300)
    # Random selection: exact shares vary, but with 300 messages no member may be left out.
    assert all(len(member) > 0 for member in received), [len(member) for member in received]


def test_plain_subscriber_and_each_queue_group_get_a_copy(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB fan 1\r\nSUB fan g1 2\r\nSUB fan g1 3\r\nSUB fan g2 4\r\n")
        client.send(b"PUB fan 1\r\nx\r\n" * 10)
        sids = Counter(message.sid for message in _messages(client.fence()))
    assert sids["1"] == 10
    assert sids["2"] + sids["3"] == 10
    assert sids["4"] == 10


def test_hpub_is_delivered_as_hmsg_to_header_clients(server):
    with RawClient.handshake(server.port, headers=True) as client:
        client.send(b"SUB foo 1\r\nHPUB foo rep 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n")
        assert client.fence() == b"HMSG foo 1 rep 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n"


def test_headers_are_stripped_for_clients_without_headers(server):
    with (
        RawClient.handshake(server.port) as plain,
        RawClient.handshake(server.port, headers=True) as publisher,
    ):
        plain.send(b"SUB strip 1\r\n")
        assert plain.fence() == b""
        publisher.send(b"HPUB strip 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n")
        assert publisher.fence() == b""
        assert plain.fence() == b"MSG strip 1 2\r\nhi\r\n"


def test_header_only_message_is_delivered_with_empty_payload(server):
    with RawClient.handshake(server.port, headers=True) as client:
        client.send(b"SUB foo 1\r\nHPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n")
        assert client.fence() == b"HMSG foo 1 12 12\r\nNATS/1.0\r\n\r\n\r\n"


def test_header_only_message_to_a_client_without_headers_is_empty(server):
    with (
        RawClient.handshake(server.port) as plain,
        RawClient.handshake(server.port, headers=True) as publisher,
    ):
        plain.send(b"SUB stripall 1\r\n")
        assert plain.fence() == b""
        publisher.send(b"HPUB stripall 12 12\r\nNATS/1.0\r\n\r\n\r\n")
        assert publisher.fence() == b""
        assert plain.fence() == b"MSG stripall 1 0\r\n\r\n"


def test_header_block_is_forwarded_untouched(server):
    with RawClient.handshake(server.port, headers=True) as client:
        client.send(b"SUB foo 1\r\nHPUB foo 5 7\r\nXXXXXhi\r\n")
        assert client.fence() == b"HMSG foo 1 5 7\r\nXXXXXhi\r\n"


def test_hpub_without_negotiated_headers_closes_silently(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"HPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n")
        assert client.read_until_eof() == b""


def test_reply_subject_is_passed_to_subscribers(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB foo 1\r\nPUB foo my.reply 2\r\nhi\r\n")
        assert client.fence() == b"MSG foo 1 my.reply 2\r\nhi\r\n"


def test_request_without_responders_gets_exact_503(server):
    with RawClient.handshake(server.port, headers=True, no_responders=True) as client:
        client.send(b"SUB _INBOX.abc.* 1\r\nPUB svc.none _INBOX.abc.1 2\r\nhi\r\n")
        assert client.fence() == (
            b"HMSG _INBOX.abc.1 1 40 40\r\n"
            b"NATS/1.0 503\r\nNats-Subject: svc.none\r\n\r\n\r\n"
        )


def test_header_request_without_responders_gets_exact_503(server):
    with RawClient.handshake(server.port, headers=True, no_responders=True) as client:
        client.send(b"SUB _INBOX.abc.* 1\r\nHPUB svc.none _INBOX.abc.2 12 14\r\nNATS/1.0\r\n\r\nhi\r\n")
        assert client.fence() == (
            b"HMSG _INBOX.abc.2 1 40 40\r\n"
            b"NATS/1.0 503\r\nNats-Subject: svc.none\r\n\r\n\r\n"
        )


def test_request_without_no_responders_option_gets_nothing(server):
    with RawClient.handshake(server.port, headers=True) as client:
        client.send(b"SUB _INBOX.abc.* 1\r\nPUB svc.none _INBOX.abc.1 2\r\nhi\r\n")
        assert client.fence() == b""


def test_request_whose_only_subscriber_is_the_echo_off_requester_gets_503(server):
    with RawClient.handshake(server.port, echo=False, headers=True, no_responders=True) as client:
        client.send(b"SUB selfonly 1\r\nSUB _INBOX.x 2\r\nPUB selfonly _INBOX.x 1\r\nx\r\n")
        assert client.fence() == (
            b"HMSG _INBOX.x 2 40 40\r\n"
            b"NATS/1.0 503\r\nNats-Subject: selfonly\r\n\r\n\r\n"
        )


def test_old_style_request_gets_exactly_one_reply(server):
    with (
        RawClient.handshake(server.port) as responder,
        RawClient.handshake(server.port) as requester,
    ):
        responder.send(b"SUB svc.old 1\r\n")
        assert responder.fence() == b""
        # SUB inbox, UNSUB after one, PUB: applied in order, so the first reply is the only one.
        requester.send(b"SUB _INBOX.old1 7\r\nUNSUB 7 1\r\nPUB svc.old _INBOX.old1 4\r\nping\r\n")
        request = responder.read_messages(1)[0]
        assert (request.subject, request.reply, request.payload) == ("svc.old", "_INBOX.old1", b"ping")
        responder.send(b"PUB _INBOX.old1 5\r\nfirst\r\nPUB _INBOX.old1 6\r\nsecond\r\n")
        assert responder.fence() == b""
        assert requester.fence() == b"MSG _INBOX.old1 7 5\r\nfirst\r\n"


async def test_nats_py_request_reply_uses_a_wildcard_inbox(server):
    responder = await nats.connect(server.url, allow_reconnect=False)
    requester = await nats.connect(server.url, allow_reconnect=False)
    try:
        async def echo(message):
            await message.respond(b"pong:" + message.data)

        await responder.subscribe("svc.echo", cb=echo)
        # Twice: nats-py writes its PING at once but queues the SUB for its flusher task, so the first
        # round trip can end before the server has the subscription.
        await responder.flush(timeout=5)
        await responder.flush(timeout=5)
        # The first request sets up nats.py's wildcard inbox; concurrent first requests race in
        # the client itself (a request can go out before the inbox SUB).
        first = await requester.request("svc.echo", b"0", timeout=5)
        requests = [requester.request("svc.echo", b"%d" % i, timeout=5) for i in range(1, 5)]
        replies = [first, *await asyncio.gather(*requests)]
        assert [reply.data for reply in replies] == [b"pong:%d" % i for i in range(5)]
    finally:
        await requester.close()
        await responder.close()


async def test_nats_py_request_without_responders_raises_no_responders(server):
    requester = await nats.connect(server.url, allow_reconnect=False)
    try:
        with pytest.raises(NoRespondersError):
            await requester.request("svc.nobody.home", b"x", timeout=5)
    finally:
        await requester.close()


async def test_nats_py_headers_round_trip(server):
    connection = await nats.connect(server.url, allow_reconnect=False)
    try:
        subscription = await connection.subscribe("hdr.roundtrip")
        await connection.publish("hdr.roundtrip", b"body", headers={"X-Id": "7", "Trace": "a b"})
        message = await subscription.next_msg(timeout=5)
        assert message.data == b"body"
        assert message.headers == {"X-Id": "7", "Trace": "a b"}
    finally:
        await connection.close()


@pytest.mark.parametrize("reply", [b"_R_.x.y", b"$JS.ACK.s.c.1.1.1.123.0"])
def test_publish_with_a_reply_only_the_server_makes_is_refused(server, reply):
    """Service-import replies and JetStream ack subjects are the server's: a client may not forge one.
    The message goes nowhere, the connection stays and the next publish is delivered."""
    with RawClient.handshake(server.port, headers=True) as client:
        client.send(b"SUB > 1\r\nPUB a %s 1\r\nx\r\nHPUB b %s 12 13\r\nNATS/1.0\r\n\r\ny\r\nPUB c 1\r\nz\r\n"
                    % (reply, reply))
        refused = b"-ERR 'Permissions Violation for Publish with Reply of \"%s\"'\r\n" % reply
        assert client.fence() == refused + refused + b"MSG c 1 1\r\nz\r\n"


def test_publish_with_other_dollar_replies_is_delivered(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB > 1\r\nPUB a $GNR.a.b.c 1\r\nx\r\nPUB b $JS.FC.s.c.1 1\r\ny\r\n")
        assert client.fence() == b"MSG a 1 $GNR.a.b.c 1\r\nx\r\nMSG b 1 $JS.FC.s.c.1 1\r\ny\r\n"
