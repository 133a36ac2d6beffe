"""`edgenats bench`: measure a running server (or the path to subscribers on a second one), or start and
compare nats-server and edgenats side by side (`--compare`), as the leaf of a link (`--compare-leaf`) or
as the leaf whose stored backlog a hub stream sources after an outage (`--compare-catchup`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgenats.bench.catchup import DEFAULT_CATCHUP_MSGS, DEFAULT_CATCHUP_SIZE, catchup_table, run_catchup_comparison
from edgenats.bench.errors import BenchError
from edgenats.bench.leaf_comparison import DEFAULT_LEAF_SCENARIOS, run_leaf_comparison
from edgenats.bench.report import comparison_table, json_document, results_table, write_json
from edgenats.bench.runner import DURABILITIES, run_against, run_comparison
from edgenats.bench.scenarios import (
    CORE_SCENARIOS,
    DEFAULT_SIZES,
    JETSTREAM_SCENARIOS,
    SCENARIOS,
    SUBSCRIBED_SCENARIOS,
    BenchTarget,
)
from edgenats.bench.settings import BenchSettings
from edgenats.bench.wire import Endpoint
from edgenats.cli.arguments import parse_duration, parse_size_list, positive_int
from edgenats.cli.connection_options import (
    ConnectionSettings,
    ServerAddress,
    connection_arguments_parent,
    parse_server_urls,
)
from edgenats.cli.errors import CommandError


def add_bench_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register bench."""
    defaults = BenchSettings()
    bench = subparsers.add_parser(
        "bench", parents=[connection_arguments_parent()], help="measure throughput, latency and memory",
        description="Raw-socket load generator. Every run checks that no message was lost. "
                    f"Scenarios: {', '.join(SCENARIOS)}.",
    )
    bench.add_argument("--scenario", action="append", type=_scenario_list, metavar="NAMES",
                       help="comma-separated scenarios to run; `jetstream` for every JetStream one, `all` "
                            f"for everything (default: {', '.join(CORE_SCENARIOS)})")
    bench.add_argument("--size", action="append", type=parse_size_list, metavar="SIZES",
                       help="comma-separated payload sizes, e.g. 16,1k (default: 16,1k)")
    bench.add_argument("--msgs", type=positive_int, default=None,
                       help="messages (round trips for request/reply) per run instead of --duration")
    bench.add_argument("--duration", type=parse_duration, default=defaults.duration_s,
                       help=f"how long each run publishes ({defaults.duration_s:g}s)")
    bench.add_argument("--pubs", type=positive_int, default=None, metavar="N",
                       help="publishers in every publish, fan-out, fan-in and queue run (default: 1; fanin10: 10)")
    bench.add_argument("--paced", action="store_true",
                       help=f"pace publishers: a PING after every {defaults.chunk_bytes // 1024} KiB, at most "
                            f"{defaults.pings_in_flight} unanswered, and no more than {defaults.window_chunks} "
                            "writes ahead of the subscribers (default: open loop, writes as fast as the socket "
                            "takes them, as real clients)")
    bench.add_argument("--check-order", action="store_true",
                       help="also check that every subscriber gets each publisher's messages in order, none "
                            "missing or doubled, by the counter in each payload (slower load generator; queue "
                            "groups are counted only)")
    bench.add_argument("--requesters", type=positive_int, default=defaults.requesters,
                       help=f"rr-throughput: concurrent requesters ({defaults.requesters})")
    bench.add_argument("--in-flight", type=positive_int, default=defaults.in_flight,
                       help=f"rr-throughput: requests in flight per requester ({defaults.in_flight})")
    bench.add_argument("--js-window", type=positive_int, default=defaults.js_window, metavar="N",
                       help="js-pub, kv-put: async publishes awaiting their PubAck at once "
                            f"({defaults.js_window}: the bound nats-py and nats.go keep by default)")
    bench.add_argument("--responders", type=positive_int, default=defaults.responders,
                       help=f"rr-throughput: responders in the queue group ({defaults.responders})")
    bench.add_argument("--connections", type=positive_int, default=defaults.connections,
                       help=f"memory: idle connections to open ({defaults.connections})")
    bench.add_argument("--stall-timeout", type=parse_duration, default=defaults.stall_timeout_s,
                       help="give up on a run when nothing arrives for this long (10s)")
    bench.add_argument("--server-pid", type=positive_int, default=None,
                       help="the server's process id: adds its CPU-seconds per million messages and RSS")
    bench.add_argument("--sub-server", metavar="URL", default=None,
                       help="subscribers connect to this server, the publisher to -s: measures the path "
                            f"through whatever joins them ({', '.join(SUBSCRIBED_SCENARIOS)} only)")
    modes = bench.add_mutually_exclusive_group()
    modes.add_argument("--compare", action="store_true",
                       help="start nats-server and edgenats on free local ports and measure both")
    modes.add_argument("--compare-leaf", action="store_true",
                       help="start a nats-server hub with an edgenats leaf, then one with a nats-server leaf, "
                            "and measure leaf publisher -> hub subscribers through each link "
                            f"(default scenarios: {', '.join(DEFAULT_LEAF_SCENARIOS)})")
    modes.add_argument("--compare-catchup", action="store_true",
                       help="store-and-forward catch-up: a leaf (nats-server, then edgenats) with JetStream "
                            "stores --msgs messages (default 100000, --size default 128 B) before its "
                            "nats-server hub starts; measure the hub stream sourcing them all")
    bench.add_argument("--durability", type=_durability_list, default=DURABILITIES, metavar="SETTINGS",
                       help="with --compare: the JetStream sync settings to run the JetStream scenarios at, "
                            "comma-separated (default: default,always)")
    bench.add_argument("--no-pin", action="store_true",
                       help="with --compare or --compare-leaf: do not pin (servers or the leaf to CPU 0, "
                            "the load generator and hub to CPU 1)")
    bench.add_argument("--json", type=Path, default=None, metavar="FILE",
                       help="also write the results as JSON")
    bench.set_defaults(func=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    settings = BenchSettings(
        msgs=args.msgs, duration_s=args.duration, requesters=args.requesters, in_flight=args.in_flight,
        js_window=args.js_window,
        responders=args.responders, connections=args.connections, stall_timeout_s=args.stall_timeout,
        paced=args.paced, publishers=args.pubs, check_order=args.check_order,
    )
    names = _chosen_scenarios(args)
    sizes = list(dict.fromkeys(size for group in (args.size or [list(DEFAULT_SIZES)]) for size in group))
    try:
        if args.compare_catchup:
            count = args.msgs or DEFAULT_CATCHUP_MSGS
            size = sizes[0] if args.size else DEFAULT_CATCHUP_SIZE
            results, pinned = run_catchup_comparison(count, size, settings, pin=not args.no_pin)
            pinning = "leaf on CPU 0, hub and load generator on CPU 1" if pinned else "not pinned"
            print(f"catch-up: a nats-server hub stream sources the backlog a leaf stored with no hub ({pinning}); "
                  "s/M = CPU-seconds per million messages; ratio = edgenats leaf / nats-server leaf")
            print(catchup_table(results))
            document = json_document(results, settings, mode="compare-catchup", pinned=pinned)
        elif args.compare_leaf:
            comparison = run_leaf_comparison(names, sizes, settings, pin=not args.no_pin)
            results = comparison.results
            pinning = ("leaf on CPU 0, hub and load generator on CPU 1" if comparison.pinned else "not pinned")
            print(f"publisher on the leaf -> subscribers on a nats-server hub ({pinning}); "
                  f"s/M = leaf CPU-seconds per million; ratio = {comparison.candidate} / {comparison.reference}; "
                  "fan-out counts deliveries at the hub (the leaf forwards each message once)")
            print(comparison_table(results, comparison.reference, comparison.candidate))
            document = json_document(results, settings, mode="compare-leaf", pinned=comparison.pinned)
        elif args.compare:
            comparison = run_comparison(names, sizes, settings, pin=not args.no_pin,
                                        durabilities=args.durability)
            results = comparison.results
            pinning = "servers on CPU 0, load generator on CPU 1" if comparison.pinned else "not pinned"
            print(f"edgenats / nats-server ({pinning}); s/M = server CPU-seconds per million; "
                  "ratio = edgenats / nats-server; `always` = JetStream with sync_interval: always; "
                  "PING max = worst round trip of an idle client during the run")
            print(comparison_table(results, comparison.reference, comparison.candidate))
            document = json_document(results, settings, mode="compare", pinned=comparison.pinned)
        else:
            target = _target(args)
            results = run_against(target, names, sizes, settings)
            path = f" -> {_endpoint_url(target.subscriber_endpoint)}" if target.subscriber_endpoint else ""
            print(f"{target.label}{path}; s/M = server CPU-seconds per million")
            print(results_table(results))
            subscribers = _endpoint_url(target.subscriber_endpoint) if target.subscriber_endpoint else None
            document = json_document(results, settings, mode="single", server=target.label,
                                     subscriber_server=subscribers)
    except BenchError as error:
        raise CommandError(str(error)) from None
    if args.json is not None:
        write_json(args.json, document)
    incomplete = [result for result in results if not result.complete]
    if incomplete:
        raise CommandError(f"{len(incomplete)} of {len(results)} runs did not account for every message")
    return 0


def _chosen_scenarios(args: argparse.Namespace) -> list[str]:
    """The scenarios asked for, else the mode's defaults; across two servers only those with subscribers."""
    across_servers = args.compare_leaf or args.sub_server is not None
    if args.sub_server is not None and args.compare:
        raise CommandError("--sub-server measures running servers; it does not go with --compare")
    if args.scenario:
        names = list(dict.fromkeys(name for group in args.scenario for name in group))
    else:
        names = list(DEFAULT_LEAF_SCENARIOS if args.compare_leaf
                     else SUBSCRIBED_SCENARIOS if across_servers else CORE_SCENARIOS)
    unsuited = [name for name in names if name not in SUBSCRIBED_SCENARIOS]
    if across_servers and unsuited:
        raise CommandError(f"across two servers only {', '.join(SUBSCRIBED_SCENARIOS)} run, "
                           f"not {', '.join(unsuited)}")
    return names


def _target(args: argparse.Namespace) -> BenchTarget:
    connection = ConnectionSettings.from_args(args)
    endpoint = _endpoint(connection.servers[0], connection)
    subscriber_endpoint = None
    if args.sub_server is not None:
        subscriber_endpoint = _endpoint(parse_server_urls(args.sub_server)[0], connection)
    return BenchTarget(_endpoint_url(endpoint), endpoint, args.server_pid, subscriber_endpoint)


def _endpoint(address: ServerAddress, connection: ConnectionSettings) -> Endpoint:
    if address.scheme != "nats":
        raise CommandError("bench speaks plain TCP only; use a nats:// URL")
    return Endpoint(
        address.host, address.port, user=connection.user or address.user,
        password=connection.password or address.password, token=connection.token,
    )


def _endpoint_url(endpoint: Endpoint) -> str:
    return f"nats://{endpoint.label}"


def _scenario_list(text: str) -> list[str]:
    groups = {"all": list(SCENARIOS), "jetstream": list(JETSTREAM_SCENARIOS)}
    names = [each for name in text.split(",") if name.strip()
             for each in groups.get(name.strip(), [name.strip()])]
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown scenario {', '.join(unknown) or text!r} (choose from {', '.join(SCENARIOS)}, "
            "jetstream, all)"
        )
    return names


def _durability_list(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    if not names or any(name not in DURABILITIES for name in names):
        raise argparse.ArgumentTypeError(f"durability settings are {', '.join(DURABILITIES)}, not {text!r}")
    return names
