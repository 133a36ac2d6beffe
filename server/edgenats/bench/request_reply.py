"""Request/reply runs: sequential latency (p50/p99) and throughput with pipelined requesters.

Requesters do what nats-py's and nats.go's `request()` do: one wildcard subscription on their inbox
(`_INBOX.<id>.*`) and a new reply subject under it for every request (a fixed-width token here, so
every frame of a run has one length). Responders form one queue group and parse every request (they
need its reply subject); requesters only count replies. All connections are driven by one selector
loop on one thread: no GIL hand-offs between threads per message, and a busy loop naturally reads
many messages per recv.
"""

from __future__ import annotations

import math
import selectors
import socket
import time
from collections.abc import Callable

from edgenats.bench.errors import BenchError
from edgenats.bench.frames import (
    CYCLE_BYTES,
    PONG_FRAME,
    FixedFrameCounter,
    msg_header,
    payload,
    pub_frame,
    sub_frame,
)
from edgenats.bench.probes import CpuSnapshot, ProcessProbe
from edgenats.bench.results import ScenarioResult
from edgenats.bench.settings import BenchSettings
from edgenats.bench.wire import Endpoint, open_connection

SERVICE_SUBJECT = "bench.service"
RESPONDER_GROUP = "bench-responders"
LATENCY_WARMUP_REQUESTS = 200
RESPONDER_READ_BYTES = 1 << 18
# A requester's reply tokens (fixed width) repeat after 2 MiB of requests, at least 4096 and at most
# 65536 of them: more than a server's subject cache holds, so each reply subject is new to it.
TOKEN_DIGITS = 5
FEWEST_TOKENS = 4096
MOST_TOKENS = 65536


class RequestCycle:
    """A requester's request frames, each with its own reply subject `<inbox>.<token>`, prebuilt as one
    buffer of equal-length frames; and how its replies look (the inbox and token are the MSG subject)."""

    def __init__(self, inbox: str, body: bytes) -> None:
        self.inbox = inbox
        self.frame_length = len(self._frame(0, body))
        self.tokens = max(FEWEST_TOKENS, min(MOST_TOKENS, CYCLE_BYTES // self.frame_length))
        self._view = memoryview(b"".join(self._frame(token, body) for token in range(self.tokens)))
        self._next = 0

    def _frame(self, token: int, body: bytes) -> bytes:
        return pub_frame(SERVICE_SUBJECT, body, f"{self.inbox}.{token:0{TOKEN_DIGITS}d}")

    def subscription(self) -> bytes:
        return sub_frame(f"{self.inbox}.*", 1)

    def reply_counter(self, size: int, buffer_bytes: int) -> FixedFrameCounter:
        """Counts the replies: MSG frames on any token of the inbox."""
        header = msg_header(f"{self.inbox}.{0:0{TOKEN_DIGITS}d}", 1, size)
        return FixedFrameCounter(header, size, buffer_bytes, checked_bytes=len(f"MSG {self.inbox}."))

    def take(self, count: int) -> bytes:
        """The next `count` requests."""
        parts = []
        while count:
            run = min(count, self.tokens - self._next)
            parts.append(self._view[self._next * self.frame_length:(self._next + run) * self.frame_length])
            self._next = (self._next + run) % self.tokens
            count -= run
        return b"".join(parts)


class Responder:
    """Answers every request arriving on its connection with a fixed-size body."""

    def __init__(self, sock: socket.socket, size: int) -> None:
        self.sock = sock
        self.answered = 0
        self._pending = bytearray()
        self._reply_tail = f" {size}\r\n".encode() + payload(size) + b"\r\n"

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
                    replies += (b"PUB ", fields[2], self._reply_tail)
                    self.answered += 1
                position = frame_end
                continue
            if buffer.startswith(b"PING", position):
                replies.append(PONG_FRAME)
            elif buffer.startswith(b"-ERR", position):
                raise BenchError(f"server error: {bytes(buffer[position:line_end]).decode(errors='replace')}")
            position = line_end + 2
        return replies, position


class PipelinedRequester:
    """Keeps `in_flight` requests outstanding on one connection, counting replies on its inbox."""

    def __init__(self, sock: socket.socket, requests: RequestCycle, size: int, in_flight: int,
                 budget: int | None) -> None:
        self.sock = sock
        self.sent = 0
        self.replies = 0
        self.last_receive = 0.0
        self.until: float | None = None
        self._requests = requests
        self._in_flight = in_flight
        self._budget = budget
        self._counter = requests.reply_counter(size, 1 << 18)

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
            self.sock.sendall(self._requests.take(count))
            self.sent += count


class SequentialRequester:
    """One request at a time: send it, then wait until its one reply has been counted."""

    def __init__(self, sock: socket.socket, requests: RequestCycle, size: int) -> None:
        self.sock = sock
        self.replies = 0
        self._requests = requests
        self._counter = requests.reply_counter(size, 1 << 16)

    def send(self) -> None:
        self.sock.sendall(self._requests.take(1))

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
            requests = RequestCycle(f"_INBOX.bench{index}", body)
            sock = open_connection(endpoint, f"bench-requester-{index}", requests.subscription())
            requesters.append(PipelinedRequester(sock, requests, size, settings.in_flight, budget))
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
    try:
        _open_responders(endpoint, 1, size, loop)
        requests = RequestCycle("_INBOX.benchlatency", payload(size))
        sock = open_connection(endpoint, "bench-requester", requests.subscription())
        requester = SequentialRequester(sock, requests, size)
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
