"""The bench's frame counting over a real socket pair: markers split across reads count exactly once."""

from __future__ import annotations

import socket

import pytest
from edgenats.bench.errors import BenchError
from edgenats.bench.frames import MSG_MARKER, MarkerCounter, payload


def msg_frame(sid: int, size: int) -> bytes:
    return f"MSG bench.subject {sid} {size}\r\n".encode() + payload(size) + b"\r\n"


@pytest.mark.parametrize("read_size", [1, 2, 3, 5, 7, 64])
def test_frames_split_across_reads_are_counted_once(read_size):
    stream = b"".join(msg_frame(sid, size) for sid in range(1, 40) for size in (0, 3, 16))
    counter = MarkerCounter(MSG_MARKER, buffer_bytes=read_size + len(MSG_MARKER))
    sender, receiver = socket.socketpair()
    with sender, receiver:
        sender.sendall(stream)
        sender.shutdown(socket.SHUT_WR)
        counted = 0
        with pytest.raises(BenchError, match="closed the connection"):
            while True:
                counted += counter.read_from(receiver)
    assert counted == 39 * 3


def test_a_server_error_stops_the_count_with_its_text():
    counter = MarkerCounter(MSG_MARKER)
    sender, receiver = socket.socketpair()
    with sender, receiver:
        sender.sendall(msg_frame(1, 4) + b"-ERR 'Slow Consumer'\r\n")
        with pytest.raises(BenchError, match="Slow Consumer"):
            counter.read_from(receiver)
