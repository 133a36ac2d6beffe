"""The bench's frame counting over a real socket pair: frames split across reads count exactly once,
and a stream that is not what the subscriber expects is reported instead of miscounted."""

from __future__ import annotations

import socket

import pytest
from edgenats.bench.errors import BenchError
from edgenats.bench.frames import PONG_MARKER, FixedFrameCounter, MarkerCounter, msg_header, payload

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
