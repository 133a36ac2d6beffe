"""The benchmark scenarios by name, and running one of them at one payload size against one server."""

from __future__ import annotations

from dataclasses import dataclass

from edgenats.bench.idle_connections import run_idle_connections
from edgenats.bench.js_flow import run_js_scenario
from edgenats.bench.message_flow import run_message_flow
from edgenats.bench.probes import ProcessProbe
from edgenats.bench.request_reply import run_request_latency, run_request_throughput
from edgenats.bench.results import ScenarioResult
from edgenats.bench.settings import BenchSettings
from edgenats.bench.wire import Endpoint


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    subscribers: int = 0
    publishers: int = 1
    queue_group: bool = False
    sized: bool = True
    jetstream: bool = False  # needs JetStream on the server


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario("pub", "publish only"),
        Scenario("pubsub", "1 publisher -> 1 subscriber", subscribers=1),
        Scenario("fanout4", "1 publisher -> 4 subscribers", subscribers=4),
        Scenario("fanout16", "1 publisher -> 16 subscribers", subscribers=16),
        Scenario("queue4", "1 publisher -> queue group of 4", subscribers=4, queue_group=True),
        Scenario("fanin10", "10 publishers -> 1 subscriber (many devices, one broker)", subscribers=1,
                 publishers=10),
        Scenario("rr-latency", "request/reply, one at a time"),
        Scenario("rr-throughput", "request/reply, pipelined requesters, queue of responders"),
        Scenario("memory", "idle connections (CONNECT + PING each)", sized=False),
        Scenario("js-pub", "JetStream publishes, each acked by the stream, 1000 in flight", jetstream=True),
        Scenario("js-pull", "a durable pull consumer drains the stream, acking every message", jetstream=True),
        Scenario("kv-put", "KV puts over 100 keys, each acked, 1000 in flight", jetstream=True),
        Scenario("kv-get", "KV reads of the last value (STREAM.MSG.GET), 1000 in flight", jetstream=True),
    )
}
# Without --scenario: the core scenarios (they need no JetStream on the server).
CORE_SCENARIOS = tuple(name for name, scenario in SCENARIOS.items() if not scenario.jetstream)
JETSTREAM_SCENARIOS = tuple(name for name, scenario in SCENARIOS.items() if scenario.jetstream)
DEFAULT_SIZES = (16, 1024)
# The scenarios whose subscribers may sit on another server than the publisher (`--sub-server`).
SUBSCRIBED_SCENARIOS = tuple(name for name, scenario in SCENARIOS.items() if scenario.subscribers)


@dataclass(frozen=True)
class BenchTarget:
    """A server to measure: its label in reports, where it listens and (if known) its process. With
    `subscriber_endpoint`, subscribers connect there instead: the path measured crosses to that server."""

    label: str
    endpoint: Endpoint
    pid: int | None = None
    subscriber_endpoint: Endpoint | None = None


def run_scenario(
    scenario: Scenario, size: int, settings: BenchSettings, target: BenchTarget, loadgen: ProcessProbe
) -> ScenarioResult:
    server = ProcessProbe(target.pid) if target.pid is not None else None
    if scenario.jetstream:
        return run_js_scenario(target.label, scenario.name, size, settings, target.endpoint, server, loadgen)
    if scenario.name == "memory":
        return run_idle_connections(target.label, settings, target.endpoint, server, loadgen)
    if scenario.name == "rr-latency":
        return run_request_latency(target.label, size, settings, target.endpoint, server, loadgen)
    if scenario.name == "rr-throughput":
        return run_request_throughput(target.label, size, settings, target.endpoint, server, loadgen)
    return run_message_flow(
        target.label, scenario.name, size, scenario.subscribers, scenario.queue_group,
        settings.publishers or scenario.publishers, settings, target.endpoint, server, loadgen,
        target.subscriber_endpoint,
    )


def scenario_runs(names: list[str], sizes: list[int]) -> list[tuple[Scenario, int]]:
    """Every (scenario, size) pair to run, in order; the memory scenario runs first and once."""
    chosen = [SCENARIOS[name] for name in names]
    runs = [(scenario, 0) for scenario in chosen if not scenario.sized]
    runs += [(scenario, size) for scenario in chosen if scenario.sized for size in sizes]
    return runs
