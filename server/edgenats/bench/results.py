"""What one scenario run measured, as plain data for the tables and the JSON report."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ScenarioResult:
    """One scenario at one payload size against one server.

    `expected` and `counted` are in `unit`: messages acknowledged (publish only), deliveries counted by
    the subscribers (fan-out counts every copy; a queue group the sum over members), round trips, or
    connections. Rates and CPU per million use the same unit.
    """

    server: str
    scenario: str
    size: int
    unit: str
    expected: int = 0
    counted: int = 0
    elapsed_s: float = 0.0
    server_cpu_s: float | None = None
    loadgen_cpu_s: float | None = None
    server_rss_bytes: int | None = None
    idle_rss_bytes: int | None = None
    latency_p50_us: float | None = None
    latency_p99_us: float | None = None
    ping_max_ms: float | None = None  # JetStream runs: the worst PING round trip of an idle connection
    durability: str | None = None  # JetStream runs of --compare: "default" or "always" (sync_interval)
    hub_cpu_s: float | None = None  # catch-up runs: the hub's CPU-seconds (the server is the leaf)
    error: str | None = None

    @property
    def label(self) -> str:
        """The scenario as tables show it: JetStream runs with `sync_interval: always` say so."""
        return f"{self.scenario} always" if self.durability == "always" else self.scenario

    @property
    def complete(self) -> bool:
        return self.error is None and self.counted == self.expected

    @property
    def lost(self) -> int:
        return self.expected - self.counted

    @property
    def rate_per_s(self) -> float | None:
        return self.counted / self.elapsed_s if self.elapsed_s > 0 and self.counted else None

    @property
    def mb_per_s(self) -> float | None:
        rate = self.rate_per_s
        return rate * self.size / 1e6 if rate is not None and self.size else None

    @property
    def server_cpu_s_per_million(self) -> float | None:
        if self.server_cpu_s is None or not self.counted:
            return None
        return self.server_cpu_s / (self.counted / 1e6)

    @property
    def hub_cpu_s_per_million(self) -> float | None:
        if self.hub_cpu_s is None or not self.counted:
            return None
        return self.hub_cpu_s / (self.counted / 1e6)

    @property
    def server_cpu_share(self) -> float | None:
        """The server's CPU use as a fraction of one core during the run."""
        if self.server_cpu_s is None or self.elapsed_s <= 0:
            return None
        return self.server_cpu_s / self.elapsed_s

    @property
    def loadgen_cpu_share(self) -> float | None:
        """The load generator's CPU use as a fraction of one core: near 1.0 means it may be the limit."""
        if self.loadgen_cpu_s is None or self.elapsed_s <= 0:
            return None
        return self.loadgen_cpu_s / self.elapsed_s

    def to_json(self) -> dict[str, object]:
        return {
            "server": self.server, "scenario": self.scenario, "size": self.size, "unit": self.unit,
            "expected": self.expected, "counted": self.counted, "lost": self.lost, "complete": self.complete,
            "elapsed_s": self.elapsed_s, "rate_per_s": self.rate_per_s, "mb_per_s": self.mb_per_s,
            "server_cpu_s": self.server_cpu_s, "server_cpu_s_per_million": self.server_cpu_s_per_million,
            "server_rss_bytes": self.server_rss_bytes, "idle_rss_bytes": self.idle_rss_bytes,
            "server_cpu_share": self.server_cpu_share, "loadgen_cpu_share": self.loadgen_cpu_share,
            "latency_p50_us": self.latency_p50_us, "latency_p99_us": self.latency_p99_us,
            "ping_max_ms": self.ping_max_ms, "durability": self.durability, "error": self.error,
            "hub_cpu_s": self.hub_cpu_s, "hub_cpu_s_per_million": self.hub_cpu_s_per_million,
        }
