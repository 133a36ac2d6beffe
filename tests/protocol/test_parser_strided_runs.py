"""Runs of PUB frames are found column by column across the candidate frames: mixed streams whose
payloads look like control lines, split anywhere, still give exactly the messages sent, in order."""

from __future__ import annotations

import random

from edgenats.protocol.client_parser import ClientProtocolParser


class Messages:
    def __init__(self) -> None:
        self.seen: list[tuple[bytes, bytes]] = []

    def on_publish(self, subject, reply, header_size, size, payload_crlf, sizes_as_sent=None) -> None:
        self.seen.append((bytes(subject), bytes(payload_crlf)))

    def on_publish_run(self, subject, size, payloads) -> None:
        self.seen.extend((bytes(subject), bytes(payload)) for payload in payloads)

    def on_invalid_publish_subject(self) -> None:
        raise AssertionError("every subject here is valid")


def parsed(pieces: list[bytes]) -> list[tuple[bytes, bytes]]:
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
        expected = [(subject, body + b"\r\n") for subject, body in frames]
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


def test_only_reply_less_frames_form_runs():
    """Telemetry (one subject, no reply) is handed over as one run; requests repeating one control line,
    reply subject included, are handed over one by one, each with its reply."""
    handler = Calls()
    parser = ClientProtocolParser(handler, 4096, 1 << 20)
    parser.feed(b"".join(b"PUB svc _INBOX.a.1 2\r\nr%d\r\n" % index for index in range(3))
                + b"".join(b"PUB t 2\r\nt%d\r\n" % index for index in range(3)))
    assert handler.calls == [
        *[("one", b"svc", b"_INBOX.a.1", b"r%d\r\n" % index) for index in range(3)],
        ("run", b"t", [b"t%d\r\n" % index for index in range(3)]),
    ]
