"""`edgenats server ping`, `edgenats server info` and `edgenats server leafs`: ask servers about
themselves through the system account (`$SYS.REQ.SERVER...`), as `nats server list` and `nats server
info` do; `leafs` shows each leaf remote's link and its JetStream drain (backlog, lag, rate, limit)
from the server's LEAFZ answer. The user given with --user/--password must belong to the server's
system account.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time

from nats.aio.client import Client

from edgenats.bench.report import render_table
from edgenats.cli.arguments import parse_duration, positive_int
from edgenats.cli.client_commands import _run, connected_client
from edgenats.cli.connection_options import connection_arguments_parent
from edgenats.cli.errors import CommandError
from edgenats.monitor.formats import go_uptime

PING_SUBJECT = "$SYS.REQ.SERVER.PING"
SERVER_ID = re.compile(r"N[A-Z2-7]{55}")
NOT_SYSTEM_USER = "connect as a user of the server's system account (--user/--password)"


def add_server_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `server ping`, `server info` and `server leafs`."""
    connection = connection_arguments_parent()
    server = subparsers.add_parser("server", help="ask servers about themselves (system account)")
    actions = server.add_subparsers(dest="server_command", metavar="ACTION", required=True)

    ping = actions.add_parser("ping", parents=[connection], help="list the servers that answer, with their round trip")
    ping.add_argument("--timeout", type=parse_duration, default=1.0,
                      help="wait this long for answers (1s)")
    ping.add_argument("--expect", type=positive_int, default=None,
                      help="stop as soon as this many servers answered")
    ping.set_defaults(func=lambda args: _run(ping_servers(args)))

    info = actions.add_parser("info", parents=[connection], help="show one server's details")
    info.add_argument("target", nargs="?", default="", metavar="NAME|ID",
                      help="the server's name or id (default: the one connected to)")
    info.add_argument("--timeout", type=parse_duration, default=2.0, help="wait this long for the answer (2s)")
    info.set_defaults(func=lambda args: _run(show_server_info(args)))

    leafs = actions.add_parser("leafs", parents=[connection],
                               help="show one server's leaf remotes: link state and JetStream drain")
    leafs.add_argument("target", nargs="?", default="", metavar="NAME|ID",
                       help="the server's name or id (default: the one connected to)")
    leafs.add_argument("--timeout", type=parse_duration, default=2.0, help="wait this long for the answer (2s)")
    leafs.set_defaults(func=lambda args: _run(show_leafs(args)))


async def gather(client: Client, subject: str, options: dict | None, timeout: float,
                 expect: int | None = None) -> list[tuple[dict, float]]:
    """Publish one request and collect (answer, round trip in seconds) until `timeout` or `expect` answers."""
    inbox = client.new_inbox()
    answers: list[tuple[dict, float]] = []
    done = asyncio.Event()
    no_responders = False
    started = time.perf_counter()

    async def collect(msg) -> None:
        nonlocal no_responders
        if msg.headers and msg.headers.get("Status") == "503":
            no_responders = True
            done.set()
            return
        answers.append((json.loads(msg.data), time.perf_counter() - started))
        if expect is not None and len(answers) >= expect:
            done.set()

    subscription = await client.subscribe(inbox, cb=collect)
    await client.publish(subject, json.dumps(options).encode() if options else b"", reply=inbox)
    try:
        await asyncio.wait_for(done.wait(), timeout)
    except TimeoutError:
        pass
    await subscription.unsubscribe()
    if no_responders:
        raise CommandError(f"no responders on {subject}: {NOT_SYSTEM_USER}")
    return answers


async def ping_servers(args: argparse.Namespace) -> int:
    async with connected_client(args) as client:
        answers = await gather(client, PING_SUBJECT, None, args.timeout, args.expect)
    if not answers:
        raise CommandError(f"no server answered within {args.timeout:g}s")
    rows = []
    for answer, rtt in sorted(answers, key=lambda item: item[0]["server"]["name"]):
        server, statsz = answer["server"], answer["statsz"]
        rows.append([server["name"], server["id"], server["ver"], str(statsz["connections"]),
                     str(statsz["subscriptions"]), _uptime(statsz["start"]), f"{rtt * 1000:.2f}ms"])
    print(render_table(["NAME", "ID", "VERSION", "CONNS", "SUBS", "UPTIME", "RTT"], rows))
    count = len(answers)
    print(f"\n{count} server{'s' if count != 1 else ''} answered")
    return 0


async def ask_one(args: argparse.Namespace, endpoint: str) -> dict:
    """One server's answer to `$SYS.REQ.SERVER.<id>.<endpoint>` (by id), or the PING form (by name, or
    the server connected to): the answer's data."""
    wanted = args.target
    if SERVER_ID.fullmatch(wanted):
        subject, options = f"$SYS.REQ.SERVER.{wanted}.{endpoint}", None
    else:
        subject = f"{PING_SUBJECT}.{endpoint}"
        options = {"server_name": wanted, "exact_match": True} if wanted else None
    async with connected_client(args) as client:
        answers = await gather(client, subject, options, args.timeout, expect=1)
    if not answers:
        named = f' named "{wanted}"' if wanted else ""
        raise CommandError(f"no server{named} answered within {args.timeout:g}s")
    answer = answers[0][0]
    if "error" in answer:
        raise CommandError(answer["error"]["description"])
    return answer["data"]


async def show_server_info(args: argparse.Namespace) -> int:
    print(info_table(await ask_one(args, "VARZ")))
    return 0


async def show_leafs(args: argparse.Namespace) -> int:
    print(leafs_table(await ask_one(args, "LEAFZ")))
    return 0


def leafs_table(leafz: dict) -> str:
    """One row per leaf remote (edgenats: its drain) or, from a server without remotes in its LEAFZ
    answer (nats-server), per link with no drain columns."""
    header = ["HUB", "STATE", "BACKLOG", "BYTES", "LAG", "RATE", "LIMIT"]
    rows = []
    for remote in leafz.get("remotes", []):
        drain = remote["drain"]
        rows.append([remote["urls"][0], remote["state"], str(drain["backlog_msgs"]),
                     format_size(drain["backlog_bytes"]), f'{drain["lag_seconds"]:.1f}s',
                     f'{drain["rate_msgs"]:g} msg/s {format_size(drain["rate_bytes"])}/s',
                     f'{format_size(drain["limit_bytes"])}/s' if drain["limit_bytes"] else "unpaced"])
    if "remotes" not in leafz:
        rows = [[f'{leaf["ip"]}:{leaf["port"]}', "connected", "-", "-", "-", "-", "-"] for leaf in leafz["leafs"]]
    title = f"Leaf remotes of {leafz['server_id']}"
    return title + "\n\n" + (render_table(header, rows) if rows else "no leaf remotes")


def format_size(size: float) -> str:
    """Bytes with nats-server's binary units: 512 B, 100.0 KiB, 1.5 MiB."""
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size:.0f} B"


def info_table(varz: dict) -> str:
    rows = [
        ("Version", varz["version"]),
        ("Runtime", varz["go"]),
        ("Clients on", f'{varz["host"]}:{varz["port"]}'),
        ("Started", f'{varz["start"]} (up {varz["uptime"]})'),
        ("System account", varz.get("system_account", "")),
        ("Connections", f'{varz["connections"]} open, {varz["total_connections"]} since start'),
        ("Leaf nodes", str(varz["leafnodes"])),
        ("Subscriptions", str(varz["subscriptions"])),
        ("Messages in / out", f'{varz["in_msgs"]} / {varz["out_msgs"]}'),
        ("Bytes in / out", f'{varz["in_bytes"]} / {varz["out_bytes"]}'),
        ("Slow consumers", str(varz["slow_consumers"])),
        ("Max payload", f'{varz["max_payload"]} bytes'),
        ("Max connections", str(varz["max_connections"])),
        ("Memory", f'{varz["mem"] / 1e6:.1f} MB'),
    ]
    width = max(len(label) for label, _ in rows) + 1
    lines = [f'Server information for {varz["server_name"]} ({varz["server_id"]})', ""]
    lines += [f"  {label + ':':<{width}} {value}" for label, value in rows]
    return "\n".join(lines)


def _uptime(start: str) -> str:
    """Seconds since an RFC 3339 time (nanoseconds allowed), in nats-server's uptime style."""
    whole, _, _ = start.rstrip("Z").partition(".")
    started = time.mktime(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) - time.timezone
    return go_uptime(time.time() - started)
