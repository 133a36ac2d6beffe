"""CPU time and memory of the server under test (by pid) and of the load generator itself (psutil)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import psutil


class ProcessProbe:
    """Reads one process's CPU-seconds (user + system, all threads) and resident memory."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._process = psutil.Process(pid)

    def cpu_seconds(self) -> float:
        times = self._process.cpu_times()
        return times.user + times.system

    def rss_bytes(self) -> int:
        return self._process.memory_info().rss


@dataclass
class CpuSnapshot:
    """Wall clock and CPU-seconds at one instant, for the server (if known) and the load generator."""

    wall: float
    server_cpu: float | None
    loadgen_cpu: float

    @classmethod
    def take(cls, server: ProcessProbe | None, loadgen: ProcessProbe) -> CpuSnapshot:
        return cls(time.perf_counter(), server.cpu_seconds() if server else None, loadgen.cpu_seconds())
