"""Runs of PUB frames are found column by column across the candidate frames, and runs of requests
frame by frame: mixed streams whose payloads look like control lines, split anywhere, still give
exactly the messages sent, with their replies, in order."""

from __future__ import annotations

import random

from edgenats.protocol.client_parser import ClientProtocolParser


class Messages:
    request_runs = 0  # across every parse: the request runs handed over

    def __init__(self) -> None:
        self.seen: list[tuple] = []

    def on_publish(self, subject, reply, header_size, size, payload_crlf, sizes_as_sent=None) -> None:
        self.seen.append((bytes(subject), reply and bytes(reply), bytes(payload_crlf)))

    def on_publish_run(self, subject, size, payloads) -> None:
        self.seen.extend((bytes(subject), None, bytes(payload)) for payload in payloads)

    def on_request_run(self, subject, size, replies, payloads) -> None:
        assert len(replies) > 1 and all(len(payload) == size + 2 for payload in payloads)
        Messages.request_runs += 1
        self.seen.extend((bytes(subject), bytes(reply), bytes(payload))
                         for reply, payload in zip(replies, payloads, strict=True))

    def on_invalid_publish_subject(self) -> None:
        raise AssertionError("every subject here is valid")


def parsed(pieces: list[bytes]) -> list[tuple]:
    handler = Messages()
    parser = ClientProtocolParser(handler, 4096, 1 << 20)
    for piece in pieces:
        parser.feed(piece)
    return handler.seen


def test_mixed_streams_give_exactly_the_messages_sent():
    chooser = random.Random(15)
    for _ in range(2000):
        frames = []
        for _ in range(chooser.randint(1, 12)):
            size = chooser.choice([0, 1, 2, 3, 5, 9])
            body = bytes(chooser.choice(b"PUB a\r\n12") for _ in range(size))
            frames.append((chooser.choice([b"a", b"ab", b"a.b"]), body))
        data = b"".join(b"PUB %s %d\r\n%s\r\n" % (subject, len(body), body) for subject, body in frames)
        expected = [(subject, None, body + b"\r\n") for subject, body in frames]
        split = chooser.randint(0, len(data))
        assert parsed([data]) == expected, data
        assert parsed([data[:split], data[split:]]) == expected, (data, split)


class Calls:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def on_publish(self, subject, reply, header_size, size, payload_crlf, sizes_as_sent=None) -> None:
        self.calls.append(("one", bytes(subject), reply and bytes(reply), bytes(payload_crlf)))

    def on_publish_run(self, subject, size, payloads) -> None:
        self.calls.append(("run", bytes(subject), [bytes(payload) for payload in payloads]))

    def on_request_run(self, subject, size, replies, payloads) -> None:
        self.calls.append(("requests", bytes(subject), [bytes(reply) for reply in replies],
                           [bytes(payload) for payload in payloads]))


def test_telemetry_forms_a_publish_run_and_requests_on_one_subject_and_size_a_request_run():
    """Telemetry (one subject, no reply) is handed over as one run; requests on one subject with one size
    as a request run, each with its reply; a request alone, or after a size or subject change, on its own."""
    handler = Calls()
    parser = ClientProtocolParser(handler, 4096, 1 << 20)
    parser.feed(b"".join(b"PUB svc _INBOX.a.%d 2\r\nr%d\r\n" % (index, index) for index in range(3))
                + b"PUB svc _INBOX.a.3 3\r\nr30\r\n"
                + b"".join(b"PUB t 2\r\nt%d\r\n" % index for index in range(3))
                + b"PUB svc _INBOX.a.4 2\r\nr4\r\nPUB svc.b _INBOX.a.5 2\r\nr5\r\n")
    assert handler.calls == [
        ("requests", b"svc", [b"_INBOX.a.%d" % index for index in range(3)],
         [b"r%d\r\n" % index for index in range(3)]),
        ("one", b"svc", b"_INBOX.a.3", b"r30\r\n"),
        ("run", b"t", [b"t%d\r\n" % index for index in range(3)]),
        ("one", b"svc", b"_INBOX.a.4", b"r4\r\n"),
        ("one", b"svc.b", b"_INBOX.a.5", b"r5\r\n"),
    ]


def test_mixed_requests_and_publishes_split_anywhere_give_exactly_the_messages_sent():
    runs_before = Messages.request_runs
    chooser = random.Random(16)
    for _ in range(2000):
        frames = []
        for _ in range(chooser.randint(1, 12)):
            size = chooser.choice([0, 1, 2, 3])
            body = bytes(chooser.choice(b"PUB a _\r\n12") for _ in range(size))
            reply = chooser.choice([None, b"_", b"_INBOX.x", b"_INBOX.x.%d" % len(frames)])
            frames.append((chooser.choice([b"a", b"a.b"]), reply, body))
        data = b"".join(b"PUB %s %s%d\r\n%s\r\n" % (subject, reply + b" " if reply else b"", len(body), body)
                        for subject, reply, body in frames)
        expected = [(subject, reply, body + b"\r\n") for subject, reply, body in frames]
        split = chooser.randint(0, len(data))
        assert parsed([data]) == expected, data
        assert parsed([data[:split], data[split:]]) == expected, (data, split)
    assert Messages.request_runs - runs_before > 100
