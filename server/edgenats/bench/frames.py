"""Prebuilt protocol frames for the load generator, and counting frames in a received byte stream.

A bench subscriber receives only frames of one known length (same subject, sid and payload size), so
FixedFrameCounter counts bytes and checks frame boundaries per read: no per-byte scan at all. Replies
to the publisher's PINGs are counted by marker (MarkerCounter); payloads are a counter then one filler
byte repeated, which can never form a header or a marker. On request (`--check-order`) an OrderCheck
also reads every payload's counter and checks that each publisher's messages arrive one after the
other, none missing, doubled or swapped: slower, so off by default.
"""

from __future__ import annotations

import socket

from edgenats.bench.errors import BenchError

PAYLOAD_FILL = b"x"
PONG_MARKER = b"PONG\r\n"
PING_FRAME = b"PING\r\n"
PONG_FRAME = b"PONG\r\n"
# A server may send INFO at any time (nats-server does, to clients of a standalone server too).
INFO_PREFIX = b"INFO "
RECEIVE_BUFFER_BYTES = 1 << 20
COUNTER_DIGITS = 6
# A publisher's prebuilt frames repeat after this many messages (fewer when the frames are large).
CYCLE_MSGS = 10_000
CYCLE_BYTES = 2 << 20


def payload(size: int) -> bytes:
    return PAYLOAD_FILL * size


def pub_frame(subject: str, body: bytes, reply_to: str | None = None) -> bytes:
    reply_part = f" {reply_to}" if reply_to else ""
    return f"PUB {subject}{reply_part} {len(body)}\r\n".encode() + body + b"\r\n"


def cycle_length(subject: str, size: int) -> int:
    """How many different payloads a publisher's FrameCycle holds before it repeats."""
    frame_length = len(f"PUB {subject} {size}\r\n") + size + 2
    return max(1, min(CYCLE_MSGS, 10 ** min(size, COUNTER_DIGITS), CYCLE_BYTES // frame_length))


class FrameCycle:
    """PUB frames whose payloads differ from one message to the next, prebuilt as one buffer: message
    n carries `first` + n modulo `length` as a zero-padded decimal counter at the start of its payload
    (as many digits as the payload has room for, up to COUNTER_DIGITS). Every frame has the same
    length, so a run of consecutive messages is one slice of the buffer. Publishers given different
    `first` values (multiples of the length) send counters a subscriber can tell apart."""

    def __init__(self, subject: str, size: int, first: int = 0) -> None:
        digits = min(size, COUNTER_DIGITS)
        head = f"PUB {subject} {size}\r\n".encode()
        self.frame_length = len(head) + size + 2
        self.length = cycle_length(subject, size)
        if first + self.length > 10**digits:
            raise BenchError(f"{size} B payloads have no room for counter {first + self.length - 1}")
        filler = PAYLOAD_FILL * (size - digits) + b"\r\n"
        self.view = memoryview(b"".join(
            head + (f"{first + index:0{digits}d}".encode() if digits else b"") + filler
            for index in range(self.length)
        ))

    def frames(self, first: int, count: int) -> memoryview:
        """Messages first .. first+count-1 of the cycle (count must not run past its end)."""
        return self.view[first * self.frame_length:(first + count) * self.frame_length]


def msg_header(subject: str, sid: int, size: int) -> bytes:
    """The MSG control line a subscriber with `sid` receives for a message without reply subject."""
    return f"MSG {subject} {sid} {size}\r\n".encode()


def sub_frame(subject: str, sid: int, queue_group: str | None = None) -> bytes:
    queue_part = f" {queue_group}" if queue_group else ""
    return f"SUB {subject}{queue_part} {sid}\r\n".encode()


class MarkerCounter:
    """Counts occurrences of a marker in what a socket delivers, reading into one reusable buffer.

    The last len(marker)-1 bytes of each read are kept in front of the next one, so a marker split
    across two reads is counted once; the markers we count have no prefix that is also their suffix,
    so a kept tail can never be counted twice.
    """

    def __init__(self, marker: bytes, buffer_bytes: int = RECEIVE_BUFFER_BYTES) -> None:
        self.marker = marker
        self._buffer = bytearray(buffer_bytes)
        self._view = memoryview(self._buffer)
        self._kept = 0

    def read_from(self, sock: socket.socket) -> int:
        """One recv_into; returns the markers completed by it. Raises BenchError if the server closed."""
        received = sock.recv_into(self._view[self._kept:])
        end = self._kept + received
        if received == 0:
            tail = bytes(self._buffer[:end]).decode(errors="replace").strip()
            raise BenchError("the server closed the connection" + (f" ({tail})" if tail else ""))
        error_at = self._buffer.find(b"-ERR", 0, end)
        if error_at >= 0:
            line_end = self._buffer.find(b"\r\n", error_at, end)
            line = bytes(self._buffer[error_at:line_end if line_end >= 0 else end])
            raise BenchError(f"server error: {line.decode(errors='replace')}")
        found = self._buffer.count(self.marker, 0, end)
        keep = min(len(self.marker) - 1, end)
        self._buffer[:keep] = self._buffer[end - keep:end]
        self._kept = keep
        return found


class OrderCheck:
    """Checks the counters of the payloads one subscriber receives from `publishers` FrameCycles of
    `length` messages each (publisher p counts from p * length): each publisher's next message must be
    the one after its previous, from counter p * length on."""

    def __init__(self, header_length: int, size: int, length: int, publishers: int) -> None:
        self.digits = min(size, COUNTER_DIGITS)
        if not self.digits:
            raise BenchError("0 B payloads carry no counter to check the order by")
        if publishers * length > 10**self.digits:
            raise BenchError(f"{size} B payloads cannot tell {publishers} publishers apart")
        self.length = length
        self.failure: str | None = None
        self._counter_start = header_length
        self._counter_end = header_length + self.digits
        self._frame_length = header_length + size + 2
        self._next = [0] * publishers
        self._partial = bytearray()

    def scan(self, buffer: bytearray, position: int, stream_offset: int, count: int) -> None:
        """Read the counters in `count` message bytes at `buffer[position:]`, which are the bytes at
        `stream_offset` of the subscriber's message stream."""
        end = position + count
        while position < end and self.failure is None:
            in_frame = stream_offset % self._frame_length
            if in_frame < self._counter_end:
                start = position + max(0, self._counter_start - in_frame)
                stop = min(end, position + self._counter_end - in_frame)
                if start < stop:
                    self._partial += buffer[start:stop]
                    if len(self._partial) == self.digits:
                        self._observe(int(self._partial))
                        self._partial.clear()
            step = self._frame_length - in_frame
            position += step
            stream_offset += step

    def _observe(self, counter: int) -> None:
        publisher, index = divmod(counter, self.length)
        if publisher >= len(self._next):
            self.failure = f"counter {counter} from no known publisher"
        elif index != self._next[publisher]:
            self.failure = (f"publisher {publisher}: message {index} of its cycle arrived where "
                            f"{self._next[publisher]} was due (lost, doubled or out of order)")
        else:
            self._next[publisher] = (index + 1) % self.length


class FixedFrameCounter:
    """Counts MSG frames of one known header (or header start, `checked_bytes`) and length by counting
    bytes read with recv_into.

    Fast path: a read whose first and last frame boundaries start with the expected header holds only
    such frames (any other byte would shift every later boundary), so its bytes are just added up.
    Otherwise the read is walked frame by frame: server PINGs are skipped (the owner sends back
    owed_pongs()), and so are INFO lines; an -ERR or any other byte raises BenchError instead of being
    miscounted.
    """

    def __init__(self, header: bytes, size: int, buffer_bytes: int = RECEIVE_BUFFER_BYTES,
                 order: OrderCheck | None = None, checked_bytes: int | None = None) -> None:
        # Frames may differ after the header's first `checked_bytes` (a reply inbox's token), never in length.
        self.header = header[:checked_bytes]
        self.order = order
        self.frame_length = len(header) + size + 2
        self.message_bytes = 0
        self.pings = 0
        self._pings_answered = 0
        self._ping_bytes_due = 0
        self._info_open = False  # an INFO line began and its end was not read yet
        self._buffer = bytearray(buffer_bytes)
        self._view = memoryview(self._buffer)

    def read_from(self, sock: socket.socket) -> int:
        """One recv_into; returns the frames completed by it. Raises BenchError if the stream is wrong."""
        received = sock.recv_into(self._view)
        if received == 0:
            raise BenchError("the server closed the connection")
        frames_before = self.message_bytes // self.frame_length
        start = min(self._ping_bytes_due, received)
        self._ping_bytes_due -= start
        if self._info_open:
            start = self._past_info(start, received)
        if self._holds_only_messages(start, received):
            self._add_message_bytes(start, received - start)
        else:
            self._walk(start, received)
        return self.message_bytes // self.frame_length - frames_before

    def owed_pongs(self) -> bytes:
        """PONG frames for the server PINGs skipped since the last call (send them back)."""
        owed = self.pings - self._pings_answered
        self._pings_answered = self.pings
        return PONG_FRAME * owed

    def _holds_only_messages(self, start: int, end: int) -> bool:
        first = start + (-self.message_bytes % self.frame_length)
        if first >= end:
            return True
        whole_headers = end - first - len(self.header)
        if whole_headers < 0:
            return False
        last = first + whole_headers // self.frame_length * self.frame_length
        tail = last + self.frame_length
        return (
            self._buffer.startswith(self.header, first)
            and self._buffer.startswith(self.header, last)
            and (tail >= end or self._buffer.startswith(self.header[:end - tail], tail, end))
        )

    def _walk(self, position: int, end: int) -> None:
        rest_of_frame = min(-self.message_bytes % self.frame_length, end - position)
        self._add_message_bytes(position, rest_of_frame)
        position += rest_of_frame
        while position < end:
            available = end - position
            if self._buffer.startswith(self.header[:available], position, end):
                taken = min(self.frame_length, available)
                self._add_message_bytes(position, taken)
            elif self._buffer.startswith(PING_FRAME[:available], position, end):
                taken = min(len(PING_FRAME), available)
                self._ping_bytes_due = len(PING_FRAME) - taken
                self.pings += 1
            elif self._buffer.startswith(INFO_PREFIX[:available], position, end):
                taken = self._past_info(position, end) - position
            else:
                raise BenchError(self._describe_unexpected(position, end))
            position += taken

    def _past_info(self, position: int, end: int) -> int:
        """Where the INFO line at `position` (or begun in an earlier read) ends within the read: its
        JSON holds no raw newline, so its LF ends it; `end` while it goes on in the next read."""
        line_end = self._buffer.find(b"\n", position, end)
        self._info_open = line_end < 0
        return end if line_end < 0 else line_end + 1

    def _add_message_bytes(self, position: int, count: int) -> None:
        if self.order is not None:
            self.order.scan(self._buffer, position, self.message_bytes, count)
        self.message_bytes += count

    def _describe_unexpected(self, position: int, end: int) -> str:
        error_at = self._buffer.find(b"-ERR", position, end)
        if error_at >= 0:
            line_end = self._buffer.find(b"\r\n", error_at, end)
            line = bytes(self._buffer[error_at:line_end if line_end >= 0 else end])
            return f"server error: {line.decode(errors='replace')}"
        found = bytes(self._buffer[position:min(end, position + len(self.header))])
        return f"unexpected bytes in the message stream: {found!r} where {self.header!r} was due"
