"""How a benchmark run is sized: message counts or duration, concurrency, timeouts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BenchSettings:
    """Sizing shared by every scenario. With `msgs` set a run sends exactly that many messages
    (round trips for request/reply); otherwise it sends for `duration_s`. Publishers write open loop
    in writes of `write_bytes` unless `paced` (a PING after each `chunk_bytes`, a window of them);
    `publishers` overrides every message-flow scenario's number of publishers; `check_order` makes
    every subscriber that gets all messages check each publisher's sequence too."""

    msgs: int | None = None
    duration_s: float = 2.0
    requesters: int = 16
    in_flight: int = 8
    responders: int = 8
    connections: int = 5000
    stall_timeout_s: float = 10.0
    paced: bool = False
    publishers: int | None = None
    check_order: bool = False
    write_bytes: int = 512 * 1024
    chunk_bytes: int = 128 * 1024
    pings_in_flight: int = 4
    window_chunks: int = 16
    # Async publishes awaiting their PubAck at once (js-pub, kv-put, filling js-pull's stream): the
    # official clients' default bound (nats-py's publish_async_max_pending, nats.go's PublishAsyncMaxPending).
    js_window: int = 4000
    js_reads_in_flight: int = 1000  # kv-get: reads awaiting their answer at once
    pull_batch: int = 250  # js-pull: messages per pull request (two requests wait at a time)

    def warmup_msgs(self, per_chunk: int) -> int:
        """A short warm-up (buffers allocated, caches filled) that is not measured."""
        warmup = per_chunk * 4
        return min(warmup, max(1, self.msgs // 10)) if self.msgs is not None else warmup
