"""`edgenats sensors ls`: what each sensor service (`edgenats-sensors`, one per Pi) reachable from the
server sees. The instances are found by `$SRV.INFO.edgenats-sensors` (answers gathered for
`--timeout`), then each is asked on its `status` endpoint; the table has one row per sensor, `--json`
prints each instance's answer as it came (one JSON document a line)."""

from __future__ import annotations

import argparse
import json

from edgenats.bench.report import render_table
from edgenats.cli.arguments import parse_duration
from edgenats.cli.client_commands import _run, connected_client
from edgenats.cli.connection_options import connection_arguments_parent
from edgenats.cli.micro_commands import ask_each_instance

SERVICE_NAME = "edgenats-sensors"


def add_sensors_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `sensors ls`."""
    sensors = subparsers.add_parser("sensors", help="the sensor services on the Pis (edgenats-sensors)")
    actions = sensors.add_subparsers(dest="sensors_command", metavar="ACTION", required=True)
    listing = actions.add_parser("ls", aliases=["list"], parents=[connection_arguments_parent()],
                                 help="list each sensor with its last reading or error")
    listing.add_argument("--timeout", type=parse_duration, default=1.0,
                         help="gather the services' answers for this long (1s)")
    listing.add_argument("--json", action="store_true", help="print each service's status answer as it came")
    listing.set_defaults(func=lambda args: _run(list_sensors(args)))


async def list_sensors(args: argparse.Namespace) -> int:
    async with connected_client(args) as client:
        answers = await ask_each_instance(client, SERVICE_NAME, "status", args.timeout)
    if args.json:
        for _, raw in answers:
            print(raw.decode())
        return 0
    rows = []
    for instance, raw in answers:
        node = ".".join(filter(None, (instance["metadata"].get("site"), instance["metadata"].get("node"))))
        for sensor in json.loads(raw):
            rows.append([node or instance["id"], sensor["name"], sensor["type"], str(sensor["bus"]),
                         f"0x{sensor['address']:02x}", f"{sensor['interval_s']:g}s", str(sensor["readings"]),
                         str(sensor["errors"]), sensor["subject"], describe_last(sensor["last"])])
    header = ["NODE", "SENSOR", "TYPE", "BUS", "ADDRESS", "INTERVAL", "READINGS", "ERRORS", "SUBJECT", "LAST"]
    print(render_table(header, rows))
    return 0


def describe_last(last: dict | None) -> str:
    """The last reading's values (`temperature_c=21.4 humidity_pct=40.2`), its error, or `-`."""
    if not last:
        return "-"
    if "error" in last:
        return f"error: {last['error']}"
    values = {key: value for key, value in last.items() if key not in ("sensor", "type", "seq", "ts")}
    return " ".join(f"{key}={value:.6g}" if isinstance(value, float) else f"{key}={value}"
                    for key, value in values.items())
