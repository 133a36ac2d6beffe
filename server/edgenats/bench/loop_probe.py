"""The stall probe: an idle core NATS connection sending one PING at a time during a run and timing
each PONG. Its worst round trip is the longest the server left a client unanswered, i.e. how long its
event loop stalled (on disk or anything else) while the load ran. The probe is its own process, so
the load generator's threads (and their GIL) do not delay it."""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.connection import Connection

from edgenats.bench.errors import BenchError
from edgenats.bench.frames import PING_FRAME, PONG_MARKER, MarkerCounter
from edgenats.bench.wire import Endpoint, open_connection

PROBE_INTERVAL_S = 0.002


def _probe(endpoint: Endpoint, stall_timeout_s: float, stop: multiprocessing.synchronize.Event,
           answer: Connection) -> None:
    worst = None
    try:
        sock = open_connection(endpoint, "bench-stall-probe")
        sock.settimeout(stall_timeout_s)
        pongs = MarkerCounter(PONG_MARKER, 4096)
        answer.send("ready")
        while True:  # at least one round trip, however short the run
            sent = time.perf_counter()
            sock.sendall(PING_FRAME)
            while not pongs.read_from(sock):
                pass
            round_trip = time.perf_counter() - sent
            worst = round_trip if worst is None else max(worst, round_trip)
            if stop.wait(PROBE_INTERVAL_S):
                break
        sock.close()
        answer.send(worst)
    except (BenchError, OSError) as error:
        answer.send(f"stall probe failed: {error}")


class StallProbe:
    def __init__(self, endpoint: Endpoint, stall_timeout_s: float) -> None:
        context = multiprocessing.get_context("fork")
        self._stop = context.Event()
        self._answer, theirs = context.Pipe(duplex=False)
        self._process = context.Process(target=_probe, args=(endpoint, stall_timeout_s, self._stop, theirs),
                                        name="bench-stall-probe", daemon=True)
        self._timeout_s = stall_timeout_s

    def start(self) -> None:
        """Start probing; returns once the probe's connection is up."""
        self._process.start()
        self._read()

    def _read(self) -> object:
        if not self._answer.poll(self._timeout_s):
            raise BenchError("the stall probe did not answer")
        said = self._answer.recv()
        if isinstance(said, str) and said != "ready":
            raise BenchError(said)
        return said

    def stop(self) -> float | None:
        """Stop probing; the worst round trip in milliseconds (None if none completed)."""
        self._stop.set()
        try:
            worst = self._read()
        finally:
            self._process.join(self._timeout_s)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        return worst * 1000 if isinstance(worst, float) else None
