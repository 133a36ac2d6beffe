"""The stall probe: an idle core NATS connection sending one PING at a time during a run and timing
each PONG. Its worst round trip is the longest the server left a client unanswered, i.e. how long its
event loop stalled (on disk or anything else) while the load ran."""

from __future__ import annotations

import threading
import time

from edgenats.bench.frames import PING_FRAME, PONG_MARKER, MarkerCounter
from edgenats.bench.wire import Endpoint, open_connection

PROBE_INTERVAL_S = 0.002


class StallProbe(threading.Thread):
    def __init__(self, endpoint: Endpoint, stall_timeout_s: float) -> None:
        super().__init__(name="bench-stall-probe", daemon=True)
        self.sock = open_connection(endpoint, "bench-stall-probe")
        self.sock.settimeout(stall_timeout_s)
        self.round_trips_s: list[float] = []
        self.failure: str | None = None
        self._pongs = MarkerCounter(PONG_MARKER, 4096)
        self._stopping = threading.Event()

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                sent = time.perf_counter()
                self.sock.sendall(PING_FRAME)
                while not self._pongs.read_from(self.sock):
                    pass
                self.round_trips_s.append(time.perf_counter() - sent)
                self._stopping.wait(PROBE_INTERVAL_S)
        except OSError as error:
            self.failure = str(error)

    def stop(self) -> float | None:
        """Stop probing; the worst round trip in milliseconds (None if none completed)."""
        self._stopping.set()
        self.join()
        self.sock.close()
        return max(self.round_trips_s) * 1000 if self.round_trips_s else None
