"""A frame held across reads is completed from the front of the next read only: the messages after it
are handed over as views of that read itself, not of a copy joined with the held tail."""

from __future__ import annotations

from edgenats.protocol.client_parser import ClientProtocolParser


class PayloadViews:
    def __init__(self) -> None:
        self.views: list[memoryview] = []

    def on_publish(self, subject, reply, header_size, size, payload_crlf, sizes_as_sent=None) -> None:
        self.views.append(payload_crlf)

    def on_publish_run(self, subject, size, payloads) -> None:
        self.views.extend(payloads)

    def on_request_run(self, subject, size, replies, payloads) -> None:
        self.views.extend(payloads)


def test_messages_after_a_held_tail_are_views_of_the_new_read():
    handler = PayloadViews()
    parser = ClientProtocolParser(handler, 4096, 1 << 20)
    parser.connect_required = False
    first = b"PUB a 2\r\nh"
    second = b"i\r\nPUB b 3\r\nxyz\r\nPUB c 1\r\nq"
    third = b"\r\n"
    parser.feed(first)
    parser.feed(second)
    parser.feed(third)
    assert [bytes(view) for view in handler.views] == [b"hi\r\n", b"xyz\r\n", b"q\r\n"]
    assert handler.views[1].obj is second
    assert len(handler.views[0].obj) == 4 and len(handler.views[2].obj) == 3
