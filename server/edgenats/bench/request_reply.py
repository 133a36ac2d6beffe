"""Request/reply runs: sequential latency (p50/p99) and throughput with pipelined requesters.

Responders form one queue group and parse every request (they need its reply subject); requesters only
count replies, so the load generator spends its time where a real service would.
"""

from __future__ import annotations

import math
import socket
import threading
import time

from edgenats.bench.errors import BenchError
from edgenats.bench.frames import MSG_MARKER, PONG_FRAME, MarkerCounter, payload, pub_frame, sub_frame
from edgenats.bench.loadgen import POLL_INTERVAL_S
from edgenats.bench.probes import CpuSnapshot, ProcessProbe
from edgenats.bench.results import ScenarioResult
from edgenats.bench.settings import BenchSettings
from edgenats.bench.wire import Endpoint, open_connection

SERVICE_SUBJECT = "bench.service"
RESPONDER_GROUP = "bench-responders"
LATENCY_WARMUP_REQUESTS = 200


class Responder(threading.Thread):
    """Answers every request on its subscription with a fixed-size body, until stopped."""

    def __init__(self, sock: socket.socket, size: int, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.sock = sock
        self.answered = 0
        self.failure: str | None = None
        self._reply_tail = f" {size}\r\n".encode() + payload(size) + b"\r\n"
        self._reply_frames: dict[bytes, bytes] = {}
        self._stopping = threading.Event()

    def run(self) -> None:
        self.sock.settimeout(POLL_INTERVAL_S)
        pending = bytearray()
        while not self._stopping.is_set():
            try:
                data = self.sock.recv(1 << 18)
                if not data:
                    raise BenchError("the server closed the responder's connection")
                pending += data
                replies, consumed = self._answer(pending)
                del pending[:consumed]
                if replies:
                    self.sock.sendall(b"".join(replies))
            except TimeoutError:
                continue
            except (BenchError, OSError) as error:
                self.failure = str(error)
                return

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

    def stop(self) -> None:
        self._stopping.set()
        self.join()
        self.sock.close()


class PipelinedRequester(threading.Thread):
    """Keeps `in_flight` requests outstanding on one connection, counting replies on its inbox."""

    def __init__(self, sock: socket.socket, request: bytes, in_flight: int, budget: int | None,
                 stall_timeout_s: float, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.sock = sock
        self.sent = 0
        self.replies = 0
        self.last_receive = 0.0
        self.failure: str | None = None
        self.until: float | None = None
        self.go = threading.Event()
        self._request = request
        self._in_flight = in_flight
        self._budget = budget
        self._stall_timeout_s = stall_timeout_s

    def run(self) -> None:
        self.sock.settimeout(self._stall_timeout_s)
        counter = MarkerCounter(MSG_MARKER, 1 << 18)
        self.go.wait()
        try:
            self._send(self._allowed(self._in_flight))
            while self.replies < self.sent:
                found = counter.read_from(self.sock)
                if found:
                    self.replies += found
                    self.last_receive = time.perf_counter()
                    self._send(self._allowed(found))
        except TimeoutError:
            self.failure = f"no reply within {self._stall_timeout_s:g}s ({self.sent - self.replies} outstanding)"
        except (BenchError, OSError) as error:
            self.failure = str(error)

    def _allowed(self, wanted: int) -> int:
        if self.until is not None and time.perf_counter() >= self.until:
            return 0
        return wanted if self._budget is None else min(wanted, self._budget - self.sent)

    def _send(self, count: int) -> None:
        if count > 0:
            self.sock.sendall(self._request * count)
            self.sent += count


def run_request_throughput(
    server_label: str, size: int, settings: BenchSettings, endpoint: Endpoint,
    server: ProcessProbe | None, loadgen: ProcessProbe,
) -> ScenarioResult:
    result = ScenarioResult(server_label, "rr-throughput", size, "round trips")
    responders: list[Responder] = []
    requesters: list[PipelinedRequester] = []
    body = payload(size)
    try:
        for index in range(settings.responders):
            sock = open_connection(endpoint, f"bench-responder-{index}", sub_frame(SERVICE_SUBJECT, 1, RESPONDER_GROUP))
            responders.append(Responder(sock, size, f"bench-responder-{index}"))
        per_requester = None if settings.msgs is None else _split(settings.msgs, settings.requesters)
        for index in range(settings.requesters):
            inbox = f"_INBOX.bench.{index}"
            sock = open_connection(endpoint, f"bench-requester-{index}", sub_frame(inbox, 1))
            budget = None if per_requester is None else per_requester[index]
            requesters.append(PipelinedRequester(
                sock, pub_frame(SERVICE_SUBJECT, body, inbox), settings.in_flight, budget,
                settings.stall_timeout_s, f"bench-requester-{index}",
            ))
        for worker in (*responders, *requesters):
            worker.start()
        start = CpuSnapshot.take(server, loadgen)
        for requester in requesters:
            requester.until = None if settings.msgs is not None else start.wall + settings.duration_s
            requester.go.set()
        for requester in requesters:
            requester.join()
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
        failures = [worker.failure for worker in (*requesters, *responders) if worker.failure]
        if failures:
            result.error = failures[0]
    except (BenchError, OSError) as error:
        result.error = str(error)
    finally:
        for requester in requesters:
            requester.until = 0.0
            requester.go.set()
            if requester.is_alive():
                requester.sock.shutdown(socket.SHUT_RDWR)
                requester.join()
            requester.sock.close()
        for responder in responders:
            responder.stop()
    return result


def run_request_latency(
    server_label: str, size: int, settings: BenchSettings, endpoint: Endpoint,
    server: ProcessProbe | None, loadgen: ProcessProbe,
) -> ScenarioResult:
    result = ScenarioResult(server_label, "rr-latency", size, "round trips")
    responder = None
    requester_sock = None
    inbox = "_INBOX.bench.latency"
    try:
        responder_sock = open_connection(endpoint, "bench-responder", sub_frame(SERVICE_SUBJECT, 1, RESPONDER_GROUP))
        responder = Responder(responder_sock, size, "bench-responder")
        responder.start()
        requester_sock = open_connection(endpoint, "bench-requester", sub_frame(inbox, 1))
        requester_sock.settimeout(settings.stall_timeout_s)
        request = pub_frame(SERVICE_SUBJECT, payload(size), inbox)
        expected_reply = f"MSG {inbox} 1 {size}\r\n".encode() + payload(size) + b"\r\n"
        exchange = _SequentialExchange(requester_sock, request, expected_reply)
        for _ in range(LATENCY_WARMUP_REQUESTS):
            exchange.round_trip()

        samples: list[int] = []
        start = CpuSnapshot.take(server, loadgen)
        until = start.wall + settings.duration_s
        while (settings.msgs is None and time.perf_counter() < until) or len(samples) < (settings.msgs or 0):
            samples.append(exchange.round_trip())
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
        if responder.failure:
            result.error = responder.failure
    except TimeoutError:
        result.error = f"no reply within {settings.stall_timeout_s:g}s"
    except (BenchError, OSError) as error:
        result.error = str(error)
    finally:
        if requester_sock is not None:
            requester_sock.close()
        if responder is not None:
            responder.stop()
    return result


class _SequentialExchange:
    """One request at a time: send, then read exactly the one reply frame it must produce."""

    def __init__(self, sock: socket.socket, request: bytes, expected_reply: bytes) -> None:
        self._sock = sock
        self._request = request
        self._expected_reply = expected_reply
        self._buffer = bytearray(len(expected_reply))
        self._checked = False

    def round_trip(self) -> int:
        """Nanoseconds from sending the request until the whole reply arrived."""
        view = memoryview(self._buffer)
        started = time.perf_counter_ns()
        self._sock.sendall(self._request)
        received = 0
        while received < len(self._buffer):
            count = self._sock.recv_into(view[received:])
            if count == 0:
                raise BenchError("the server closed the requester's connection")
            received += count
        elapsed = time.perf_counter_ns() - started
        if not self._checked:
            if bytes(self._buffer) != self._expected_reply:
                raise BenchError(f"unexpected reply frame {bytes(self._buffer[:80])!r}")
            self._checked = True
        return elapsed


def percentile(sorted_samples: list[int], fraction: float) -> float:
    """Nearest-rank percentile of already sorted samples."""
    if not sorted_samples:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_samples)))
    return float(sorted_samples[rank - 1])


def _split(total: int, parts: int) -> list[int]:
    share, extra = divmod(total, parts)
    return [share + (1 if index < extra else 0) for index in range(parts)]
