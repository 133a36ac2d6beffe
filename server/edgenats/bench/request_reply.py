"""Request/reply runs: sequential latency (p50/p99) and throughput with pipelined requesters.

Responders form one queue group and parse every request (they need its reply subject); requesters only
count replies. All connections are driven by one selector loop on one thread: no GIL hand-offs between
threads per message, and a busy loop naturally reads many messages per recv.
"""

from __future__ import annotations

import math
import selectors
import socket
import time
from collections.abc import Callable

from edgenats.bench.errors import BenchError
from edgenats.bench.frames import PONG_FRAME, FixedFrameCounter, msg_header, payload, pub_frame, sub_frame
from edgenats.bench.probes import CpuSnapshot, ProcessProbe
from edgenats.bench.results import ScenarioResult
from edgenats.bench.settings import BenchSettings
from edgenats.bench.wire import Endpoint, open_connection

SERVICE_SUBJECT = "bench.service"
RESPONDER_GROUP = "bench-responders"
LATENCY_WARMUP_REQUESTS = 200
RESPONDER_READ_BYTES = 1 << 18


class Responder:
    """Answers every request arriving on its connection with a fixed-size body."""

    def __init__(self, sock: socket.socket, size: int) -> None:
        self.sock = sock
        self.answered = 0
        self._pending = bytearray()
        self._reply_tail = f" {size}\r\n".encode() + payload(size) + b"\r\n"
        self._reply_frames: dict[bytes, bytes] = {}

    def on_readable(self) -> None:
        data = self.sock.recv(RESPONDER_READ_BYTES)
        if not data:
            raise BenchError("the server closed a responder's connection")
        self._pending += data
        replies, consumed = self._answer(self._pending)
        del self._pending[:consumed]
        if replies:
            self.sock.sendall(b"".join(replies))

    def _answer(self, buffer: bytearray) -> tuple[list[bytes], int]:
        """Replies for every complete MSG in `buffer`, and how many bytes were consumed."""
        replies: list[bytes] = []
        position, end = 0, len(buffer)
        while (line_end := buffer.find(b"\r\n", position)) >= 0:
            if buffer.startswith(b"MSG ", position):
                fields = bytes(buffer[position + 4:line_end]).split()
                frame_end = line_end + 2 + int(fields[-1]) + 2
                if frame_end > end:
                    break
                if len(fields) == 4:
                    replies.append(self._reply_frame(fields[2]))
                    self.answered += 1
                position = frame_end
                continue
            if buffer.startswith(b"PING", position):
                replies.append(PONG_FRAME)
            elif buffer.startswith(b"-ERR", position):
                raise BenchError(f"server error: {bytes(buffer[position:line_end]).decode(errors='replace')}")
            position = line_end + 2
        return replies, position

    def _reply_frame(self, reply_to: bytes) -> bytes:
        frame = self._reply_frames.get(reply_to)
        if frame is None:
            frame = self._reply_frames[reply_to] = b"PUB " + reply_to + self._reply_tail
        return frame


class PipelinedRequester:
    """Keeps `in_flight` requests outstanding on one connection, counting replies on its inbox."""

    def __init__(self, sock: socket.socket, request: bytes, reply_header: bytes, size: int, in_flight: int,
                 budget: int | None) -> None:
        self.sock = sock
        self.sent = 0
        self.replies = 0
        self.last_receive = 0.0
        self.until: float | None = None
        self._request = request
        self._in_flight = in_flight
        self._budget = budget
        self._counter = FixedFrameCounter(reply_header, size, 1 << 18)

    def start(self, until: float | None) -> None:
        self.until = until
        self._send(self._allowed(self._in_flight))

    @property
    def outstanding(self) -> int:
        return self.sent - self.replies

    def on_readable(self) -> None:
        found = self._counter.read_from(self.sock)
        if found:
            self.replies += found
            self.last_receive = time.perf_counter()
            self._send(self._allowed(found))
        if pongs := self._counter.owed_pongs():
            self.sock.sendall(pongs)

    def _allowed(self, wanted: int) -> int:
        if self.until is not None and time.perf_counter() >= self.until:
            return 0
        return wanted if self._budget is None else min(wanted, self._budget - self.sent)

    def _send(self, count: int) -> None:
        if count > 0:
            self.sock.sendall(self._request * count)
            self.sent += count


class SequentialRequester:
    """One request at a time: send it, then wait until its one reply has been counted."""

    def __init__(self, sock: socket.socket, request: bytes, reply_header: bytes, size: int) -> None:
        self.sock = sock
        self.replies = 0
        self._request = request
        self._counter = FixedFrameCounter(reply_header, size, 1 << 16)

    def send(self) -> None:
        self.sock.sendall(self._request)

    def on_readable(self) -> None:
        found = self._counter.read_from(self.sock)
        self.replies += found
        if pongs := self._counter.owed_pongs():
            self.sock.sendall(pongs)


class ConnectionLoop:
    """Dispatches readable connections to their party's on_readable() until a condition holds."""

    def __init__(self, stall_timeout_s: float) -> None:
        self._selector = selectors.DefaultSelector()
        self._stall_timeout_s = stall_timeout_s

    def add(self, party: Responder | PipelinedRequester | SequentialRequester) -> None:
        self._selector.register(party.sock, selectors.EVENT_READ, party)

    def run_until(self, done: Callable[[], bool]) -> None:
        while not done():
            events = self._selector.select(self._stall_timeout_s)
            if not events:
                raise BenchError(f"no reply within {self._stall_timeout_s:g}s")
            for key, _ in events:
                key.data.on_readable()

    def close(self) -> None:
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()
        self._selector.close()


def _open_responders(endpoint: Endpoint, count: int, size: int, loop: ConnectionLoop) -> None:
    for index in range(count):
        subscribe = sub_frame(SERVICE_SUBJECT, 1, RESPONDER_GROUP)
        sock = open_connection(endpoint, f"bench-responder-{index}", subscribe)
        loop.add(Responder(sock, size))


def run_request_throughput(
    server_label: str, size: int, settings: BenchSettings, endpoint: Endpoint,
    server: ProcessProbe | None, loadgen: ProcessProbe,
) -> ScenarioResult:
    result = ScenarioResult(server_label, "rr-throughput", size, "round trips")
    loop = ConnectionLoop(settings.stall_timeout_s)
    requesters: list[PipelinedRequester] = []
    body = payload(size)
    try:
        _open_responders(endpoint, settings.responders, size, loop)
        budgets: list[int | None] = [None] * settings.requesters
        if settings.msgs is not None:
            budgets = [*_split(settings.msgs, settings.requesters)]
        for index, budget in enumerate(budgets):
            inbox = f"_INBOX.bench.{index}"
            sock = open_connection(endpoint, f"bench-requester-{index}", sub_frame(inbox, 1))
            request = pub_frame(SERVICE_SUBJECT, body, inbox)
            requesters.append(PipelinedRequester(sock, request, msg_header(inbox, 1, size), size,
                                                 settings.in_flight, budget))
            loop.add(requesters[-1])
        start = CpuSnapshot.take(server, loadgen)
        for requester in requesters:
            requester.start(None if settings.msgs is not None else start.wall + settings.duration_s)
        try:
            loop.run_until(lambda: all(requester.outstanding == 0 for requester in requesters))
        except (BenchError, OSError) as error:
            result.error = str(error)
        end = CpuSnapshot.take(server, loadgen)
        result.expected = sum(requester.sent for requester in requesters)
        result.counted = sum(requester.replies for requester in requesters)
        last_reply = max((requester.last_receive for requester in requesters if requester.replies),
                         default=start.wall)
        result.elapsed_s = last_reply - start.wall
        result.loadgen_cpu_s = end.loadgen_cpu - start.loadgen_cpu
        if server is not None:
            result.server_cpu_s = end.server_cpu - start.server_cpu
            result.server_rss_bytes = server.rss_bytes()
    except (BenchError, OSError) as error:
        result.error = str(error)
    finally:
        loop.close()
    return result


def run_request_latency(
    server_label: str, size: int, settings: BenchSettings, endpoint: Endpoint,
    server: ProcessProbe | None, loadgen: ProcessProbe,
) -> ScenarioResult:
    result = ScenarioResult(server_label, "rr-latency", size, "round trips")
    loop = ConnectionLoop(settings.stall_timeout_s)
    inbox = "_INBOX.bench.latency"
    try:
        _open_responders(endpoint, 1, size, loop)
        sock = open_connection(endpoint, "bench-requester", sub_frame(inbox, 1))
        request = pub_frame(SERVICE_SUBJECT, payload(size), inbox)
        requester = SequentialRequester(sock, request, msg_header(inbox, 1, size), size)
        loop.add(requester)

        def round_trip() -> int:
            awaited = requester.replies + 1
            started = time.perf_counter_ns()
            requester.send()
            loop.run_until(lambda: requester.replies >= awaited)
            return time.perf_counter_ns() - started

        for _ in range(LATENCY_WARMUP_REQUESTS):
            round_trip()
        samples: list[int] = []
        start = CpuSnapshot.take(server, loadgen)
        until = start.wall + settings.duration_s
        while (settings.msgs is None and time.perf_counter() < until) or len(samples) < (settings.msgs or 0):
            samples.append(round_trip())
        end = CpuSnapshot.take(server, loadgen)
        result.expected = result.counted = len(samples)
        result.elapsed_s = end.wall - start.wall
        result.loadgen_cpu_s = end.loadgen_cpu - start.loadgen_cpu
        if server is not None:
            result.server_cpu_s = end.server_cpu - start.server_cpu
            result.server_rss_bytes = server.rss_bytes()
        samples.sort()
        result.latency_p50_us = percentile(samples, 0.50) / 1000
        result.latency_p99_us = percentile(samples, 0.99) / 1000
    except (BenchError, OSError) as error:
        result.error = str(error)
    finally:
        loop.close()
    return result


def percentile(sorted_samples: list[int], fraction: float) -> float:
    """Nearest-rank percentile of already sorted samples."""
    if not sorted_samples:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_samples)))
    return float(sorted_samples[rank - 1])


def _split(total: int, parts: int) -> list[int]:
    share, extra = divmod(total, parts)
    return [share + (1 if index < extra else 0) for index in range(parts)]
