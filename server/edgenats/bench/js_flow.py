"""The JetStream scenarios: publishes acknowledged by a stream (plain and KV put), a pull consumer
that acks every message, and KV reads. Each creates its stream (and consumer), runs on raw sockets with
a window of requests in flight, checks every answer and what the stream holds at the end, and deletes
the stream again. A stall probe times PINGs on an idle connection meanwhile (loop_probe.py)."""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable

from edgenats.bench.errors import BenchError
from edgenats.bench.frames import payload, pub_frame, sub_frame
from edgenats.bench.js_wire import ApiClient, Frame, FrameReader
from edgenats.bench.loop_probe import StallProbe
from edgenats.bench.probes import CpuSnapshot, ProcessProbe
from edgenats.bench.results import ScenarioResult
from edgenats.bench.settings import BenchSettings
from edgenats.bench.wire import Endpoint, open_connection

STREAM = "BENCH"
STREAM_SUBJECT = "bench.js"
KV_BUCKET = "bench"
KV_STREAM = f"KV_{KV_BUCKET}"
KV_KEYS = 100
PULL_CONSUMER = "bench-pull"
PULL_EXPIRES_NS = 5_000_000_000
PULLS_IN_FLIGHT = 2
REPLY_PREFIX = "_INBOX.bench-js."
WARMUP_MSGS = 200

# The stream configs as nats-py's add_stream / create_key_value send them (KV without allow_direct:
# reads go through STREAM.MSG.GET, which every server answers).
STREAM_CONFIG = {"name": STREAM, "subjects": [STREAM_SUBJECT], "storage": "file", "retention": "limits"}
KV_CONFIG = {"name": KV_STREAM, "subjects": [f"$KV.{KV_BUCKET}.>"], "storage": "file", "retention": "limits",
             "max_msgs_per_subject": 1, "discard": "new", "allow_rollup_hdrs": True, "deny_delete": True}


def kv_key(index: int) -> str:
    return f"$KV.{KV_BUCKET}.k{index % KV_KEYS}"


class RequestWindow:
    """Requests with their own reply inboxes on one connection, at most `in_flight` unanswered."""

    def __init__(self, endpoint: Endpoint, name: str, settings: BenchSettings, in_flight: int) -> None:
        self.reader = FrameReader(
            open_connection(endpoint, name, sub_frame(REPLY_PREFIX + "*", 1), headers=True),
            settings.stall_timeout_s)
        self.in_flight = in_flight
        self.sent = 0
        self.answered = 0
        self.failures: list[bytes] = []

    def run(self, frame_for: Callable[[int, str], bytes], count: int | None, until: float | None) -> int:
        """Send requests (frame_for(index, reply subject)) until `count` or `until`, and wait for every
        answer; an answer holding an "error" is a failure. Returns how many were sent."""
        first = self.sent
        chunk = max(1, self.in_flight // 4)
        while True:
            more = (count is None or self.sent - first < count) and (until is None or time.perf_counter() < until)
            if not more and self.answered == self.sent:
                return self.sent - first
            room = self.in_flight - (self.sent - self.answered)
            if more and room >= chunk:
                batch = chunk if count is None else min(chunk, count - (self.sent - first))
                self.reader.sock.sendall(b"".join(
                    frame_for(index, f"{REPLY_PREFIX}{index}") for index in range(self.sent, self.sent + batch)))
                self.sent += batch
                continue
            for frame in self.reader.read():
                self.answered += 1
                if b'"error"' in frame.payload:
                    self.failures.append(frame.payload)

    def close(self) -> None:
        self.reader.sock.close()


def _publisher(subject_for: Callable[[int], str], size: int) -> Callable[[int, str], bytes]:
    body = payload(size)
    return lambda index, reply: pub_frame(subject_for(index), body, reply)


class _Measured:
    """CPU and wall clock around the measured part of a run, with the stall probe running."""

    def __init__(self, result: ScenarioResult, endpoint: Endpoint, settings: BenchSettings,
                 server: ProcessProbe | None, loadgen: ProcessProbe) -> None:
        self._result, self._server, self._loadgen = result, server, loadgen
        self._probe = StallProbe(endpoint, settings.stall_timeout_s)

    def __enter__(self) -> _Measured:
        self._probe.start()
        self._start = CpuSnapshot.take(self._server, self._loadgen)
        return self

    def __exit__(self, *exc_info: object) -> None:
        end = CpuSnapshot.take(self._server, self._loadgen)
        result = self._result
        result.ping_max_ms = self._probe.stop()
        result.elapsed_s = end.wall - self._start.wall
        result.loadgen_cpu_s = end.loadgen_cpu - self._start.loadgen_cpu
        if self._server is not None:
            result.server_cpu_s = end.server_cpu - self._start.server_cpu
            result.server_rss_bytes = self._server.rss_bytes()

    def deadline(self, settings: BenchSettings) -> float | None:
        return None if settings.msgs is not None else self._start.wall + settings.duration_s


def run_js_scenario(server_label: str, scenario: str, size: int, settings: BenchSettings, endpoint: Endpoint,
                    server: ProcessProbe | None, loadgen: ProcessProbe) -> ScenarioResult:
    unit = "reads" if scenario == "kv-get" else "msgs"
    result = ScenarioResult(server_label, scenario, size, unit)
    api = None
    try:
        api = ApiClient(endpoint, settings.stall_timeout_s)
        run = {"js-pub": _publish, "kv-put": _kv_put, "js-pull": _pull, "kv-get": _kv_get}[scenario]
        run(result, api, size, settings, endpoint, server, loadgen)
    except (BenchError, OSError) as error:
        result.error = str(error) or type(error).__name__
    finally:
        if api is not None:
            for name in (STREAM, KV_STREAM):
                try:
                    api.delete_stream(name)
                except (BenchError, OSError):
                    pass
            api.close()
    return result


def _published(window: RequestWindow, frame_for: Callable[[int, str], bytes], result: ScenarioResult,
               settings: BenchSettings, endpoint: Endpoint, server: ProcessProbe | None,
               loadgen: ProcessProbe) -> int:
    """Warm up, then the measured publishes; returns how many were published in all."""
    window.run(frame_for, WARMUP_MSGS, None)
    with _Measured(result, endpoint, settings, server, loadgen) as measured:
        sent = window.run(frame_for, settings.msgs, measured.deadline(settings))
    result.expected = sent
    result.counted = sent - len(window.failures)
    if window.failures:
        result.error = f"{len(window.failures)} publishes refused: {window.failures[0].decode(errors='replace')}"
    return WARMUP_MSGS + sent


def _publish(result: ScenarioResult, api: ApiClient, size: int, settings: BenchSettings, endpoint: Endpoint,
             server: ProcessProbe | None, loadgen: ProcessProbe) -> None:
    api.create_stream(STREAM_CONFIG)
    window = RequestWindow(endpoint, "bench-js-pub", settings, settings.js_window)
    try:
        total = _published(window, _publisher(lambda _: STREAM_SUBJECT, size), result, settings, endpoint,
                           server, loadgen)
    finally:
        window.close()
    stored = api.stream_state(STREAM)["messages"]
    if result.error is None and stored != total:
        result.error = f"the stream holds {stored} of the {total} acknowledged messages"


def _kv_put(result: ScenarioResult, api: ApiClient, size: int, settings: BenchSettings, endpoint: Endpoint,
            server: ProcessProbe | None, loadgen: ProcessProbe) -> None:
    api.create_stream(KV_CONFIG)
    window = RequestWindow(endpoint, "bench-kv-put", settings, settings.js_window)
    try:
        total = _published(window, _publisher(kv_key, size), result, settings, endpoint, server, loadgen)
    finally:
        window.close()
    state = api.stream_state(KV_STREAM)
    if result.error is None and (state["last_seq"], state["messages"]) != (total, min(total, KV_KEYS)):
        result.error = f"after {total} puts the bucket holds {state['messages']} keys, last seq {state['last_seq']}"


def _kv_get(result: ScenarioResult, api: ApiClient, size: int, settings: BenchSettings, endpoint: Endpoint,
            server: ProcessProbe | None, loadgen: ProcessProbe) -> None:
    api.create_stream(KV_CONFIG)
    window = RequestWindow(endpoint, "bench-kv-get", settings, settings.js_reads_in_flight)
    try:
        window.run(_publisher(kv_key, size), KV_KEYS, None)
        gets = {index: json.dumps({"last_by_subj": kv_key(index)}).encode() for index in range(KV_KEYS)}
        subject = f"$JS.API.STREAM.MSG.GET.{KV_STREAM}"

        def get_frame(index: int, reply: str) -> bytes:
            return pub_frame(subject, gets[index % KV_KEYS], reply)

        window.failures.clear()
        _published(window, get_frame, result, settings, endpoint, server, loadgen)
    finally:
        window.close()


def _pull(result: ScenarioResult, api: ApiClient, size: int, settings: BenchSettings, endpoint: Endpoint,
          server: ProcessProbe | None, loadgen: ProcessProbe) -> None:
    """Fill the stream (msgs, or what publishing for the duration stored), then consume it all through
    a durable pull consumer that acks every message."""
    api.create_stream(STREAM_CONFIG)
    window = RequestWindow(endpoint, "bench-js-fill", settings, settings.js_window)
    try:
        until = None if settings.msgs is not None else time.perf_counter() + settings.duration_s
        stored = window.run(_publisher(lambda _: STREAM_SUBJECT, size), settings.msgs, until)
    finally:
        window.close()
    if window.failures:
        raise BenchError(f"filling the stream: {window.failures[0].decode(errors='replace')}")
    api.checked(f"$JS.API.CONSUMER.CREATE.{STREAM}.{PULL_CONSUMER}", {
        "stream_name": STREAM, "config": {"durable_name": PULL_CONSUMER, "ack_policy": "explicit"}})
    consumer = _PullConsumer(endpoint, settings)
    try:
        with _Measured(result, endpoint, settings, server, loadgen):
            consumer.consume(stored)
    finally:
        consumer.sock.close()
    result.expected = stored
    result.counted = len(consumer.seen)
    if consumer.duplicates:
        result.error = f"{consumer.duplicates} messages delivered twice"


class _PullConsumer:
    """Keeps PULLS_IN_FLIGHT pull requests waiting and acks every message as it arrives. Messages come
    on the stored subject, so requests are counted off in the order the server serves them (first
    come, first served); a status on a request's inbox (408 expired) ends that one."""

    def __init__(self, endpoint: Endpoint, settings: BenchSettings) -> None:
        self.sock = open_connection(endpoint, "bench-js-pull", sub_frame(REPLY_PREFIX + "*", 1), headers=True)
        self._reader = FrameReader(self.sock, settings.stall_timeout_s)
        self._batch = settings.pull_batch
        self.seen: set[int] = set()
        self.duplicates = 0
        self._requests = 0
        self._waiting: deque[list] = deque()  # [inbox, messages it still wants], in request order

    def _pull(self) -> bytes:
        inbox = f"{REPLY_PREFIX}{self._requests}"
        self._requests += 1
        self._waiting.append([inbox.encode(), self._batch])
        body = json.dumps({"batch": self._batch, "expires": PULL_EXPIRES_NS}).encode()
        return pub_frame(f"$JS.API.CONSUMER.MSG.NEXT.{STREAM}.{PULL_CONSUMER}", body, inbox)

    def consume(self, count: int) -> None:
        self.sock.sendall(b"".join(self._pull() for _ in range(PULLS_IN_FLIGHT)))
        while len(self.seen) < count:
            out: list[bytes] = []
            for frame in self._reader.read():
                out += self._on_frame(frame)
            if out:
                self.sock.sendall(b"".join(out))

    def _on_frame(self, frame: Frame) -> list[bytes]:
        if frame.reply is None:  # a status: that request ended
            self._waiting = deque(request for request in self._waiting if request[0] != frame.subject)
            return [self._pull()]
        stream_seq = int(frame.reply.split(b".")[5])
        if stream_seq in self.seen:
            self.duplicates += 1
        self.seen.add(stream_seq)
        out = [b"PUB " + frame.reply + b" 0\r\n\r\n"]
        if self._waiting:
            self._waiting[0][1] -= 1
            if self._waiting[0][1] == 0:
                self._waiting.popleft()
                out.append(self._pull())
        return out
