"""Runs of identical PUB frames arriving in one write (a telemetry stream): every subscription sees
every message in order, limits and queue groups still apply per message, echo-off publishers skip
themselves, and a broken frame in the middle ends the run where nats-server ends it.
"""

from __future__ import annotations

from rawclient import RawClient

RUN = 12


def frames(subject: bytes = b"run.x") -> bytes:
    # Same size for every payload, so every control line is identical.
    return b"".join(b"PUB %s 3\r\nm%02d\r\n" % (subject, index) for index in range(RUN))


def payloads_by_sid(messages) -> dict[str, list[bytes]]:
    grouped: dict[str, list[bytes]] = {}
    for message in messages:
        grouped.setdefault(message.sid, []).append(message.payload)
    return grouped


def test_run_reaches_plain_queue_and_limited_subscriptions_in_order(server):
    expected = [b"m%02d" % index for index in range(RUN)]
    with RawClient.handshake(server.port) as subscriber, RawClient.handshake(server.port) as publisher:
        subscriber.send(b"SUB run.x 1\r\nSUB run.x workers 2\r\nSUB run.* 3\r\nUNSUB 3 5\r\n")
        subscriber.fence()
        publisher.send(frames())
        publisher.fence()
        received = payloads_by_sid(subscriber.read_messages(RUN + RUN + 5))
        subscriber.fence()
    assert received == {"1": expected, "2": expected, "3": expected[:5]}


def test_run_from_an_echo_off_publisher_skips_its_own_subscription(server):
    expected = [b"m%02d" % index for index in range(RUN)]
    with RawClient.handshake(server.port) as other, RawClient.handshake(server.port, echo=False) as publisher:
        other.send(b"SUB run.x 7\r\n")
        other.fence()
        publisher.send(b"SUB run.x 8\r\n")
        publisher.fence()
        publisher.send(frames())
        assert publisher.fence() == b""
        assert payloads_by_sid(other.read_messages(RUN)) == {"7": expected}


def test_broken_frame_inside_a_run_delivers_what_came_before_and_closes(server):
    with RawClient.handshake(server.port) as subscriber, RawClient.handshake(server.port) as publisher:
        subscriber.send(b"SUB run.x 1\r\n")
        subscriber.fence()
        good = b"PUB run.x 3\r\nm00\r\nPUB run.x 3\r\nm01\r\n"
        publisher.send(good + b"PUB run.x 3\r\nm02XX" + b"PUB run.x 3\r\nm03\r\n")
        assert publisher.read_until_eof() == b"-ERR 'Unknown Protocol Operation'\r\n"
        assert [message.payload for message in subscriber.read_messages(2)] == [b"m00", b"m01"]
