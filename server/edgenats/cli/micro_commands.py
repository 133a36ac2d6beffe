"""`edgenats micro ls|info|stats [NAME [ID]]`: the NATS micro services reachable from the server
connected to (device apps, services on the Pi, services across the leaf link), found as `nats micro`
finds them: `$SRV.INFO` and `$SRV.STATS` requests (narrowed to `.<NAME>` and `.<NAME>.<ID>`) whose
answers are gathered for `--timeout`. `ls` lists the instances, `info` shows each instance's
endpoints with their statistics, `stats` tabulates requests, errors and processing times per endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import json

import nats.errors
from nats.aio.client import Client

from edgenats.bench.report import render_table
from edgenats.cli.arguments import parse_duration
from edgenats.cli.client_commands import _run, connected_client
from edgenats.cli.connection_options import connection_arguments_parent
from edgenats.cli.errors import CommandError
from edgenats.micro import INFO_TYPE, STATS_TYPE, control_subject, join_instances, parse_answer


def add_micro_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `micro ls`, `micro info` and `micro stats`."""
    connection = connection_arguments_parent()
    micro = subparsers.add_parser("micro", help="discover NATS micro services ($SRV)")
    actions = micro.add_subparsers(dest="micro_command", metavar="ACTION", required=True)
    for action, aliases, help_text, show in (
        ("ls", ["list"], "list the service instances that answer", show_list),
        ("info", [], "show each instance's endpoints and their statistics", show_info),
        ("stats", [], "tabulate requests, errors and processing time per endpoint", show_stats),
    ):
        parser = actions.add_parser(action, aliases=aliases, parents=[connection], help=help_text)
        parser.add_argument("name", nargs="?", default="", metavar="NAME", help="only the service of this name")
        parser.add_argument("id", nargs="?", default="", metavar="ID", help="only the instance with this id")
        parser.add_argument("--timeout", type=parse_duration, default=1.0,
                            help="gather answers for this long (1s)")
        parser.add_argument("--json", action="store_true", help="print the instances as JSON")
        parser.set_defaults(func=lambda args, show=show: _run(discover_and_show(args, show)))


async def discover(client: Client, name: str, instance_id: str, timeout: float) -> list[dict]:
    """Every instance that answered INFO within `timeout`, joined with its STATS answer."""
    answers: dict[str, list[dict]] = {INFO_TYPE: [], STATS_TYPE: []}
    subscriptions = []
    for verb, answer_type in (("INFO", INFO_TYPE), ("STATS", STATS_TYPE)):
        inbox = client.new_inbox()

        async def collect(msg, answer_type: str = answer_type) -> None:
            answer = parse_answer(msg.data, answer_type)
            if answer is not None:
                answers[answer_type].append(answer)

        subscriptions.append(await client.subscribe(inbox, cb=collect))
        await client.publish(control_subject(verb, name, instance_id), b"", reply=inbox)
    await client.flush()
    await asyncio.sleep(timeout)
    for subscription in subscriptions:
        await subscription.unsubscribe()
    return join_instances(answers[INFO_TYPE], answers[STATS_TYPE])


async def ask_each_instance(client: Client, name: str, endpoint: str, timeout: float,
                            request_timeout: float = 5.0) -> list[tuple[dict, bytes]]:
    """Each instance of service `name` found within `timeout`, with its answer to an empty request on
    its `endpoint` endpoint. CommandError when none is found, or one lacks or does not answer it."""
    instances = await discover(client, name, "", timeout)
    if not instances:
        raise CommandError(f"no {name} service answered within {timeout:g}s")
    answers = []
    for instance in instances:
        subject = next((e["subject"] for e in instance["endpoints"] if e["name"] == endpoint), None)
        if subject is None:
            raise CommandError(f"{name} {instance['id']} has no {endpoint} endpoint")
        try:
            reply = await client.request(subject, b"", timeout=request_timeout)
        except nats.errors.Error as error:
            raise CommandError(f"{name} {instance['id']} did not answer on {subject}: {error}") from None
        answers.append((instance, reply.data))
    return answers


async def discover_and_show(args: argparse.Namespace, show) -> int:
    async with connected_client(args) as client:
        instances = await discover(client, args.name, args.id, args.timeout)
    if args.json:
        print(json.dumps(instances, indent=2))
        return 0
    if not instances:
        named = f' named "{args.name}"' if args.name else ""
        raise CommandError(f"no micro service{named} answered within {args.timeout:g}s")
    print(show(instances, args.name))
    return 0


def show_list(instances: list[dict], name: str) -> str:
    """nats micro ls's table (name, version, description shown once per run of equal values) and the
    endpoints each instance serves."""
    title = f"{name} Micro Service" if name else "All Micro Services"
    rows = []
    previous = ("", "", "")
    for instance in instances:
        current = (instance["name"], instance["version"], instance["description"])
        shown = ["" if value == before else value for value, before in zip(current, previous, strict=True)]
        rows.append([shown[0], shown[1], instance["id"], ", ".join(e["name"] for e in instance["endpoints"]),
                     shown[2]])
        previous = current
    return title + "\n\n" + render_table(["NAME", "VERSION", "ID", "ENDPOINTS", "DESCRIPTION"], rows)


def show_info(instances: list[dict], name: str) -> str:
    blocks = []
    for instance in instances:
        lines = ["Service Information", "",
                 f"  Service:      {instance['name']} ({instance['id']})",
                 f"  Description:  {instance['description']}",
                 f"  Version:      {instance['version']}"]
        if instance["started"]:
            lines.append(f"  Started:      {instance['started']}")
        for key, value in sorted(instance["metadata"].items()):
            lines.append(f"  Metadata:     {key}={value}")
        lines += ["", f"Endpoints ({len(instance['endpoints'])}):"]
        for endpoint in instance["endpoints"]:
            lines += ["", f"  {endpoint['name'] or 'default'} on {endpoint['subject']}"
                          + (f" (queue {endpoint['queue_group']})" if endpoint["queue_group"] else ""),
                      f"    Requests:         {_count(endpoint['num_requests'])}",
                      f"    Errors:           {_count(endpoint['num_errors'])}",
                      f"    Processing time:  {_duration(endpoint['processing_time'])}"
                      f" (average {_duration(endpoint['average_processing_time'])})"]
            if endpoint["last_error"]:
                lines.append(f"    Last error:       {endpoint['last_error']}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def show_stats(instances: list[dict], name: str) -> str:
    """nats micro stats's table, one row per endpoint of each instance, with the totals below."""
    title = f"{name} Service Statistics" if name else "All Service Statistics"
    rows = []
    requests = errors = busy = 0
    for instance in instances:
        for index, endpoint in enumerate(instance["endpoints"]):
            first = index == 0
            rows.append([instance["name"] if first else "", instance["id"] if first else "",
                         endpoint["name"], _count(endpoint["num_requests"]), _count(endpoint["num_errors"]),
                         _duration(endpoint["processing_time"]), _duration(endpoint["average_processing_time"])])
            requests += endpoint["num_requests"] or 0
            errors += endpoint["num_errors"] or 0
            busy += endpoint["processing_time"] or 0
    average = busy // (requests + errors) if requests + errors else 0
    rows.append(["", "", "total", str(requests), str(errors), _duration(busy), _duration(average)])
    header = ["NAME", "ID", "ENDPOINT", "REQUESTS", "ERRORS", "PROCESSING TIME", "AVERAGE TIME"]
    return title + "\n\n" + render_table(header, rows)


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def _duration(nanoseconds: int | None) -> str:
    """Nanoseconds as a short human duration: 0s, 850µs, 12.3ms, 1.25s."""
    if nanoseconds is None:
        return "-"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if nanoseconds >= scale:
            return f"{nanoseconds / scale:.3g}{unit}"
    return f"{nanoseconds}ns" if nanoseconds else "0s"
