"""`bench --compare-leaf`: the edge -> cloud path through a leaf link, with edgenats and then nats-server
as the edge leaf.

Each side is a pair started for the run: a cloud hub (always nats-server, listening for leaf nodes) and
an edge leaf soliciting it. The publisher connects to the leaf and the subscribers to the hub, so every
message crosses the link. Pinned, the leaf runs on CPU 0 and the hub with the load generator on CPU 1;
CPU-seconds per million are the leaf's.
"""

from __future__ import annotations

from edgenats.bench.runner import (
    CANDIDATE_KIND,
    LOADGEN_CPU,
    REFERENCE_KIND,
    SERVER_CPU,
    ComparedTarget,
    Comparison,
    Progress,
    ServerLauncher,
    can_pin,
    launched_servers,
    measure_in_turn,
    print_progress,
)
from edgenats.bench.scenarios import BenchTarget
from edgenats.bench.server_process import LOOPBACK, free_port
from edgenats.bench.settings import BenchSettings
from edgenats.bench.wire import Endpoint

HUB_KIND = "nats-server"
DEFAULT_LEAF_SCENARIOS = ("pubsub", "fanout4")


def leaf_label(kind: str) -> str:
    return f"{kind} leaf"


def hub_config(leaf_port: int) -> str:
    return f'server_name: bench-hub-{leaf_port}\nleafnodes {{ listen: "{LOOPBACK}:{leaf_port}" }}\n'


def leaf_config(kind: str, hub_leaf_port: int) -> str:
    remote = f'url: "nats-leaf://{LOOPBACK}:{hub_leaf_port}"'
    return f"server_name: bench-{kind}-leaf\nleafnodes {{ remotes = [ {{ {remote} }} ] }}\n"


def run_leaf_comparison(
    names: list[str], sizes: list[int], settings: BenchSettings, pin: bool = True,
    progress: Progress = print_progress,
) -> Comparison:
    """Start a hub and a leaf for each leaf kind, measure publisher-on-leaf -> subscribers-on-hub for
    each in turn, and stop all four servers by pid."""
    pinned = can_pin(pin)
    with launched_servers(progress) as launch:
        compared = [_start_pair(launch, kind, pinned) for kind in (REFERENCE_KIND, CANDIDATE_KIND)]
        results = measure_in_turn(names, sizes, settings, compared, pinned, progress)
    return Comparison(results, pinned, leaf_label(REFERENCE_KIND), leaf_label(CANDIDATE_KIND))


def _start_pair(launch: ServerLauncher, leaf_kind: str, pinned: bool) -> ComparedTarget:
    hub_leaf_port = free_port()
    hub = launch(HUB_KIND, LOADGEN_CPU if pinned else None, hub_config(hub_leaf_port))
    leaf = launch(leaf_kind, SERVER_CPU if pinned else None, leaf_config(leaf_kind, hub_leaf_port))
    target = BenchTarget(leaf_label(leaf_kind), Endpoint(LOOPBACK, leaf.port), leaf.pid,
                         subscriber_endpoint=Endpoint(LOOPBACK, hub.port))
    return ComparedTarget(target, [hub, leaf])
