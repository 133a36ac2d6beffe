"""Publishes to `_INBOX.` subjects (replies, routed without a cached plan per subject) reach exactly the
subscribers any other publish would: echo-off publishers skip themselves, auto-unsubscribe limits hold,
sizes with leading zeros are repeated as sent, and a queue group on an inbox still gets one copy.
"""

from __future__ import annotations

from rawclient import RawClient


def test_a_reply_reaches_the_wildcard_inbox_and_an_echo_on_publisher_itself(server):
    with RawClient.handshake(server.port) as requester, RawClient.handshake(server.port) as responder:
        requester.send(b"SUB _INBOX.req1.* 1\r\n")
        requester.fence()
        responder.send(b"SUB _INBOX.req1.* 2\r\n")
        responder.fence()
        responder.send(b"PUB _INBOX.req1.a 2\r\nok\r\nPUB _INBOX.req1.b 3\r\nyes\r\n")
        mine = responder.read_messages(2)
        theirs = requester.read_messages(2)
    assert [(message.subject, message.payload) for message in theirs] == [
        ("_INBOX.req1.a", b"ok"), ("_INBOX.req1.b", b"yes")]
    assert [(message.subject, message.sid) for message in mine] == [("_INBOX.req1.a", "2"), ("_INBOX.req1.b", "2")]


def test_an_echo_off_publisher_does_not_get_its_own_reply(server):
    with RawClient.handshake(server.port) as requester, RawClient.handshake(server.port, echo=False) as responder:
        requester.send(b"SUB _INBOX.req2.* 1\r\n")
        requester.fence()
        responder.send(b"SUB _INBOX.req2.* 2\r\n")
        responder.fence()
        responder.send(b"PUB _INBOX.req2.x 5\r\nhello\r\n")
        assert responder.fence() == b""
        [message] = requester.read_messages(1)
    assert (message.subject, message.sid, message.payload) == ("_INBOX.req2.x", "1", b"hello")


def test_an_old_style_request_inbox_gets_one_reply_then_unsubscribes(server):
    with RawClient.handshake(server.port) as requester, RawClient.handshake(server.port) as responder:
        requester.send(b"SUB _INBOX.req3.one 7\r\nUNSUB 7 1\r\n")
        requester.fence()
        responder.send(b"PUB _INBOX.req3.one 5\r\nfirst\r\nPUB _INBOX.req3.one 6\r\nsecond\r\n")
        responder.fence()
        [message] = requester.read_messages(1)
        assert requester.fence() == b""
        # The subscription is gone: a new one with the same subject gets the next reply only.
        requester.send(b"SUB _INBOX.req3.one 8\r\n")
        requester.fence()
        responder.send(b"PUB _INBOX.req3.one 5\r\nthird\r\n")
        responder.fence()
        [later] = requester.read_messages(1)
    assert (message.sid, message.payload) == ("7", b"first")
    assert (later.sid, later.payload) == ("8", b"third")


def test_a_reply_size_with_leading_zeros_is_repeated_as_sent(server):
    with RawClient.handshake(server.port) as requester, RawClient.handshake(server.port) as responder:
        requester.send(b"SUB _INBOX.req4.* 1\r\n")
        requester.fence()
        responder.send(b"PUB _INBOX.req4.z 005\r\nhello\r\n")
        responder.fence()
        requester.send(b"PING\r\n")
        seen = requester.read_until(b"PONG\r\n")
    assert seen == b"MSG _INBOX.req4.z 1 005\r\nhello\r\nPONG\r\n"


def test_a_queue_group_on_an_inbox_gets_one_copy_of_each_reply(server):
    with RawClient.handshake(server.port) as first, RawClient.handshake(server.port) as second, \
            RawClient.handshake(server.port) as responder:
        first.send(b"SUB _INBOX.req5.* workers 1\r\n")
        first.fence()
        second.send(b"SUB _INBOX.req5.* workers 2\r\n")
        second.fence()
        responder.send(b"".join(b"PUB _INBOX.req5.%d 2\r\n%02d\r\n" % (index, index) for index in range(10)))
        responder.fence()
        got = first.fence() + second.fence()
    assert sorted(line for line in got.split(b"\r\n") if line.isdigit()) == [b"%02d" % index for index in range(10)]
