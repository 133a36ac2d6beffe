"""`bench --compare-catchup`: store-and-forward catch-up. An edge leaf with JetStream (domain site1)
stores a backlog while its hub is not there yet; then a nats-server hub (JetStream, domain hub) starts,
the link comes up, and a hub stream sourcing the edge stream (`$JS.site1.API`) takes the whole backlog.
Measured from the hub stream's creation until it holds every message: messages a second, and the
CPU-seconds per million messages of the leaf (pinned to CPU 0) and of the hub (CPU 1, with the load
generator). The leaf is nats-server, then edgenats, in the same place; every server is stopped by pid."""

from __future__ import annotations

import os
import time

from edgenats.bench.errors import BenchError
from edgenats.bench.frames import payload, pub_frame
from edgenats.bench.js_flow import RequestWindow
from edgenats.bench.js_wire import ApiClient
from edgenats.bench.leaf_comparison import leaf_label
from edgenats.bench.probes import CpuSnapshot, ProcessProbe
from edgenats.bench.report import format_bytes, format_number, format_rate, format_size, ratio, render_table
from edgenats.bench.results import ScenarioResult
from edgenats.bench.runner import (
    CANDIDATE_KIND,
    LOADGEN_CPU,
    REFERENCE_KIND,
    SERVER_CPU,
    Progress,
    ServerLauncher,
    can_pin,
    launched_servers,
    print_progress,
)
from edgenats.bench.server_process import LOOPBACK, free_port
from edgenats.bench.settings import BenchSettings
from edgenats.bench.wire import Endpoint

SCENARIO = "catchup"
DEFAULT_CATCHUP_MSGS = 100_000
DEFAULT_CATCHUP_SIZE = 128
EDGE_STREAM = {"name": "TELEMETRY", "subjects": ["telemetry.>"], "storage": "file", "retention": "limits"}
HUB_STREAM = {"name": "AGG", "storage": "file", "retention": "limits",
              "sources": [{"name": "TELEMETRY", "external": {"api": "$JS.site1.API"}}]}
LINK_TIMEOUT_S = 20.0
LINK_POLL_S = 0.25
POLL_S = 0.05


def hub_config(leaf_port: int) -> str:
    return (f'server_name: catchup-hub-{leaf_port}\nleafnodes {{ listen: "{LOOPBACK}:{leaf_port}" }}\n'
            f'jetstream {{ store_dir: "js-hub-{leaf_port}", domain: hub }}\n')


def leaf_config(kind: str, hub_leaf_port: int) -> str:
    return (f"server_name: catchup-{kind}-leaf\n"
            f'leafnodes {{ remotes = [ {{ url: "nats-leaf://{LOOPBACK}:{hub_leaf_port}" }} ] }}\n'
            f'jetstream {{ store_dir: "js-{kind}-leaf", domain: site1 }}\n')


def run_catchup_comparison(count: int, size: int, settings: BenchSettings, pin: bool = True,
                           progress: Progress = print_progress) -> tuple[list[ScenarioResult], bool]:
    """Both leaf kinds in turn, each with its own hub; returns (results, pinned)."""
    pinned = can_pin(pin)
    results = []
    with launched_servers(progress) as launch:
        if pinned:
            os.sched_setaffinity(0, {LOADGEN_CPU})
        for kind in (REFERENCE_KIND, CANDIDATE_KIND):
            results.append(_catch_up(launch, kind, count, size, settings, pinned, progress))
    return results, pinned


def _catch_up(launch: ServerLauncher, kind: str, count: int, size: int, settings: BenchSettings,
              pinned: bool, progress: Progress) -> ScenarioResult:
    result = ScenarioResult(leaf_label(kind), SCENARIO, size, "msgs", expected=count)
    hub_leaf_port = free_port()
    leaf = launch(kind, SERVER_CPU if pinned else None, leaf_config(kind, hub_leaf_port))
    try:
        progress(f"{leaf_label(kind)}: storing {count} messages of {size} B with no hub")
        _fill(Endpoint(LOOPBACK, leaf.port), count, size, settings)
        hub = launch("nats-server", LOADGEN_CPU if pinned else None, hub_config(hub_leaf_port))
        _wait_for_link(Endpoint(LOOPBACK, hub.port))
        api = ApiClient(Endpoint(LOOPBACK, hub.port), settings.stall_timeout_s)
        try:
            progress(f"{leaf_label(kind)}: the hub sources the backlog")
            leaf_probe, hub_probe = ProcessProbe(leaf.pid), ProcessProbe(hub.pid)
            start, hub_start = CpuSnapshot.take(leaf_probe, hub_probe), hub_probe.cpu_seconds()
            created = api.checked(f"$JS.API.STREAM.CREATE.{HUB_STREAM['name']}", HUB_STREAM)
            if created["state"]["messages"]:
                raise BenchError(f"the hub stream held {created['state']['messages']} messages at its creation")
            result.counted = _wait_for_all(api, count, settings.stall_timeout_s)
            end = CpuSnapshot.take(leaf_probe, hub_probe)
            result.elapsed_s = end.wall - start.wall
            result.server_cpu_s = end.server_cpu - start.server_cpu
            result.hub_cpu_s = hub_probe.cpu_seconds() - hub_start
            result.server_rss_bytes = leaf_probe.rss_bytes()
        finally:
            api.close()
        hub.stop()
    except (BenchError, OSError) as error:
        result.error = str(error) or type(error).__name__
    leaf.stop()
    return result


def _fill(endpoint: Endpoint, count: int, size: int, settings: BenchSettings) -> None:
    api = ApiClient(endpoint, settings.stall_timeout_s)
    try:
        api.create_stream(EDGE_STREAM)
    finally:
        api.close()
    body = payload(size)
    window = RequestWindow(endpoint, "bench-catchup-fill", settings, settings.js_window)
    try:
        window.run(lambda index, reply: pub_frame(f"telemetry.s{index % 16}", body, reply), count, None)
    finally:
        window.close()
    if window.failures:
        raise BenchError(f"storing the backlog: {window.failures[0].decode(errors='replace')}")


def _wait_for_link(hub: Endpoint) -> None:
    """Until the edge's domain API answers through the hub (the leaf redialled the new hub)."""
    api = ApiClient(hub, LINK_POLL_S)
    deadline = time.monotonic() + LINK_TIMEOUT_S
    try:
        while True:
            try:
                if "error" not in api.request("$JS.site1.API.INFO"):
                    return
            except BenchError:  # no answer yet: the link is not up
                pass
            if time.monotonic() > deadline:
                raise BenchError(f"the leaf did not link to the hub within {LINK_TIMEOUT_S:g}s")
    finally:
        api.close()


def _wait_for_all(api: ApiClient, count: int, stall_timeout_s: float) -> int:
    """Poll the hub stream until it holds `count` messages; stops when it grows no more for the stall
    timeout. Returns what it holds."""
    held, moved = 0, time.monotonic()
    while held < count:
        time.sleep(POLL_S)
        now_held = api.stream_state(HUB_STREAM["name"])["messages"]
        if now_held > held:
            held, moved = now_held, time.monotonic()
        elif time.monotonic() - moved > stall_timeout_s:
            raise BenchError(f"the hub stream stopped at {held} of {count} messages")
    return held


def catchup_table(results: list[ScenarioResult]) -> str:
    """The two leaves side by side; ratios are edgenats / nats-server."""
    reference = next((r for r in results if r.server == leaf_label(REFERENCE_KIND)), None)
    candidate = next((r for r in results if r.server == leaf_label(CANDIDATE_KIND)), None)
    ref, cand = leaf_label(REFERENCE_KIND), leaf_label(CANDIDATE_KIND)
    header = ["scenario", "size", "msgs", f"{ref} msgs/s", f"{cand} msgs/s", "ratio", f"{ref} s/M",
              f"{cand} s/M", "CPU ratio", f"hub s/M ({ref})", f"hub s/M ({cand})", f"{ref} RSS", f"{cand} RSS",
              "status"]

    def cell(result: ScenarioResult | None, value) -> str:
        return "-" if result is None else value(result)

    leaf_cpu = [cell(r, lambda r: format_number(r.server_cpu_s_per_million, 3)) for r in (reference, candidate)]
    cpu_ratio = ratio(candidate and candidate.server_cpu_s_per_million,
                      reference and reference.server_cpu_s_per_million)
    statuses = ["ok" if r is not None and r.complete else (r.error or f"{r.counted}/{r.expected}") if r else "-"
                for r in (reference, candidate)]
    size = (reference or candidate).size
    row = [SCENARIO, format_size(size), str((reference or candidate).expected),
           *[cell(r, lambda r: format_rate(r.rate_per_s)) for r in (reference, candidate)],
           format_number(ratio(candidate and candidate.rate_per_s, reference and reference.rate_per_s)),
           *leaf_cpu, "-" if cpu_ratio is None else f"{cpu_ratio:.1f}x",
           *[cell(r, lambda r: format_number(r.hub_cpu_s_per_million, 3)) for r in (reference, candidate)],
           *[cell(r, lambda r: format_bytes(r.server_rss_bytes)) for r in (reference, candidate)],
           "ok" if statuses == ["ok", "ok"] else " / ".join(statuses)]
    return render_table(header, [row])
