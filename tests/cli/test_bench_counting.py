"""The bench's frame counting over a real socket pair: frames split across reads count exactly once,
and a stream that is not what the subscriber expects is reported instead of miscounted."""

from __future__ import annotations

import socket

import pytest
from edgenats.bench.errors import BenchError
from edgenats.bench.frames import PONG_MARKER, FixedFrameCounter, MarkerCounter, OrderCheck, msg_header, payload

SUBJECT = "bench.subject"


def msg_frame(size: int) -> bytes:
    return msg_header(SUBJECT, 1, size) + payload(size) + b"\r\n"


def count_until_closed(counter, receiver: socket.socket) -> int:
    counted = 0
    with pytest.raises(BenchError, match="closed the connection"):
        while True:
            counted += counter.read_from(receiver)
    return counted


@pytest.mark.parametrize("read_size", [1, 2, 5, 7, 33, 64, 4096])
@pytest.mark.parametrize("size", [0, 16, 1024])
def test_fixed_frames_split_across_reads_are_counted_once(read_size, size):
    counter = FixedFrameCounter(msg_header(SUBJECT, 1, size), size, buffer_bytes=read_size)
    sender, receiver = socket.socketpair()
    with sender, receiver:
        sender.sendall(msg_frame(size) * 50)
        sender.shutdown(socket.SHUT_WR)
        assert count_until_closed(counter, receiver) == 50


@pytest.mark.parametrize("read_size", [1, 2, 3, 4, 5, 6, 7, 11, 13, 25, 38, 64, 4096])
def test_server_pings_between_frames_are_skipped_and_owed_a_pong(read_size):
    size = 16
    counter = FixedFrameCounter(msg_header(SUBJECT, 1, size), size, buffer_bytes=read_size)
    stream = msg_frame(size) * 10 + b"PING\r\n" + msg_frame(size) * 10 + b"PING\r\n" + msg_frame(size) * 5
    sender, receiver = socket.socketpair()
    with sender, receiver:
        sender.sendall(stream)
        sender.shutdown(socket.SHUT_WR)
        assert count_until_closed(counter, receiver) == 25
    assert counter.owed_pongs() == b"PONG\r\n" * 2
    assert counter.owed_pongs() == b""


@pytest.mark.parametrize("read_size", [1, 2, 4, 5, 6, 7, 13, 38, 64, 100, 4096])
def test_async_info_lines_between_frames_are_skipped(read_size):
    size = 16
    counter = FixedFrameCounter(msg_header(SUBJECT, 1, size), size, buffer_bytes=read_size)
    info = b'INFO {"server_id":"NDEMO","version":"2.15.1","connect_urls":["127.0.0.1:4222"]}\r\n'
    stream = msg_frame(size) * 10 + info + msg_frame(size) * 10 + info + b"PING\r\n" + msg_frame(size) * 5 + info
    sender, receiver = socket.socketpair()
    with sender, receiver:
        sender.sendall(stream)
        sender.shutdown(socket.SHUT_WR)
        assert count_until_closed(counter, receiver) == 25
    assert counter.owed_pongs() == b"PONG\r\n"


@pytest.mark.parametrize("read_size", [1, 3, 17, 40, 4096])
def test_replies_on_every_token_of_an_inbox_are_counted_and_another_inbox_is_refused(read_size):
    size = 16
    header = msg_header("_INBOX.req.00000", 1, size)
    counter = FixedFrameCounter(header, size, buffer_bytes=read_size, checked_bytes=len("MSG _INBOX.req."))
    replies = b"".join(msg_header(f"_INBOX.req.{token:05d}", 1, size) + payload(size) + b"\r\n"
                       for token in (7, 123, 99999, 0, 42))
    sender, receiver = socket.socketpair()
    with sender, receiver:
        sender.sendall(replies)
        sender.shutdown(socket.SHUT_WR)
        assert count_until_closed(counter, receiver) == 5
    stray = FixedFrameCounter(header, size, checked_bytes=len("MSG _INBOX.req."))
    sender, receiver = socket.socketpair()
    with sender, receiver:
        sender.sendall(msg_header("_INBOX.abc.00001", 1, size) + payload(size) + b"\r\n")
        with pytest.raises(BenchError, match="unexpected bytes"):
            stray.read_from(receiver)


def test_a_server_error_in_the_message_stream_is_reported_with_its_text():
    counter = FixedFrameCounter(msg_header(SUBJECT, 1, 4), 4)
    sender, receiver = socket.socketpair()
    with sender, receiver:
        sender.sendall(msg_frame(4) + b"-ERR 'Slow Consumer'\r\n" + msg_frame(4))
        with pytest.raises(BenchError, match="Slow Consumer"):
            counter.read_from(receiver)


def test_frames_of_another_shape_are_not_counted_as_messages():
    counter = FixedFrameCounter(msg_header(SUBJECT, 1, 4), 4)
    sender, receiver = socket.socketpair()
    with sender, receiver:
        sender.sendall(msg_frame(4) + msg_header(SUBJECT, 1, 5) + payload(5) + b"\r\n" + msg_frame(4))
        with pytest.raises(BenchError, match="unexpected bytes"):
            counter.read_from(receiver)


@pytest.mark.parametrize("read_size", [3, 5, 8, 64])
def test_pongs_split_across_reads_are_counted_once(read_size):
    counter = MarkerCounter(PONG_MARKER, buffer_bytes=read_size + len(PONG_MARKER))
    sender, receiver = socket.socketpair()
    with sender, receiver:
        sender.sendall(b"PONG\r\n" * 40)
        sender.shutdown(socket.SHUT_WR)
        assert count_until_closed(counter, receiver) == 40


def counted_frame(size: int, counter: int) -> bytes:
    body = f"{counter:0{min(size, 6)}d}".encode() + payload(size - min(size, 6))
    return msg_header(SUBJECT, 1, size) + body + b"\r\n"


def check_order(stream: bytes, size: int, length: int, publishers: int, read_size: int) -> OrderCheck:
    header = msg_header(SUBJECT, 1, size)
    order = OrderCheck(len(header), size, length, publishers)
    counter = FixedFrameCounter(header, size, buffer_bytes=read_size, order=order)
    sender, receiver = socket.socketpair()
    with sender, receiver:
        sender.sendall(stream)
        sender.shutdown(socket.SHUT_WR)
        try:
            while order.failure is None:
                counter.read_from(receiver)
        except BenchError as closed:
            assert "closed the connection" in str(closed)
    return order


@pytest.mark.parametrize("read_size", [1, 2, 5, 7, 23, 64, 4096])
@pytest.mark.parametrize("size", [3, 16])
def test_counters_in_order_split_across_reads_and_between_pings_pass(read_size, size):
    length = 7
    frames = [counted_frame(size, index % length) for index in range(20)]
    stream = b"".join(frames[:9]) + b"PING\r\n" + b"".join(frames[9:])
    assert check_order(stream, size, length, 1, read_size).failure is None


@pytest.mark.parametrize("read_size", [5, 4096])
def test_several_publishers_interleaved_each_in_order_pass(read_size):
    length = 5
    first = [counted_frame(16, index % length) for index in range(12)]
    second = [counted_frame(16, length + index % length) for index in range(12)]
    stream = b"".join(first[:4] + second[:7] + first[4:] + second[7:])
    assert check_order(stream, 16, length, 2, read_size).failure is None


@pytest.mark.parametrize("read_size", [3, 4096])
@pytest.mark.parametrize("sequence, due", [
    ([0, 1, 3, 4], "message 3 of its cycle arrived where 2 was due"),  # lost
    ([0, 1, 1, 2], "message 1 of its cycle arrived where 2 was due"),  # doubled
    ([0, 2, 1, 3], "message 2 of its cycle arrived where 1 was due"),  # swapped
    ([1, 2, 3], "message 1 of its cycle arrived where 0 was due"),  # the first one lost
], ids=["lost", "doubled", "swapped", "first-lost"])
def test_a_lost_doubled_or_swapped_message_is_reported(read_size, sequence, due):
    stream = b"".join(counted_frame(16, counter) for counter in sequence)
    assert check_order(stream, 16, 10, 1, read_size).failure == f"publisher 0: {due} (lost, doubled or out of order)"


def test_payloads_too_small_for_the_publishers_are_refused():
    with pytest.raises(BenchError, match="cannot tell 3 publishers apart"):
        OrderCheck(len(msg_header(SUBJECT, 1, 2)), 2, 100, 3)
    with pytest.raises(BenchError, match="no counter"):
        OrderCheck(len(msg_header(SUBJECT, 1, 0)), 0, 1, 1)
