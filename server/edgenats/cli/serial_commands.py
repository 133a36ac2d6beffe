"""`edgenats serial ls`: the serial ports each edgenats-serial bridge reachable through the broker sees.

The bridges are found as `edgenats micro` finds services (`$SRV.INFO.edgenats-serial`); each one's `status`
endpoint is asked for its ports (path, state, the board on it, lines in and out, acks, the last error).
`--json` prints the answers' port lists, joined, as they came.
"""

from __future__ import annotations

import argparse
import json

from edgenats.bench.report import render_table
from edgenats.cli.arguments import parse_duration
from edgenats.cli.client_commands import _run, connected_client
from edgenats.cli.connection_options import connection_arguments_parent
from edgenats.cli.micro_commands import ask_each_instance
from edgenats.serial_bridge import SERVICE_NAME


def add_serial_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `serial ls`."""
    serial = subparsers.add_parser("serial", help="boards on the serial ports of the site's Pi (edgenats-serial)")
    actions = serial.add_subparsers(dest="serial_command", metavar="ACTION", required=True)
    parser = actions.add_parser("ls", aliases=["list"], parents=[connection_arguments_parent()],
                                help="list each bridge's ports and the boards on them")
    parser.add_argument("--timeout", type=parse_duration, default=1.0, help="wait this long for bridges (1s)")
    parser.add_argument("--json", action="store_true", help="print the status answers' port lists as JSON")
    parser.set_defaults(func=lambda args: _run(list_ports(args)))


async def list_ports(args: argparse.Namespace) -> int:
    async with connected_client(args) as client:
        answers = await ask_each_instance(client, SERVICE_NAME, "status", args.timeout)
    ports = []
    for bridge, raw in answers:
        node = ".".join(bridge["metadata"].get(key, "?") for key in ("site", "node"))
        ports += [(node, port) for port in json.loads(raw)]
    if args.json:
        print(json.dumps([port for _, port in ports], indent=2))
        return 0
    rows = [[node, p["path"], p["state"], p.get("device_id") or "-", p.get("firmware") or "-",
             str(p.get("lines_in", 0)), str(p.get("lines_out", 0)), str(p.get("acks", 0)), str(p.get("naks", 0)),
             p.get("last_error") or ""] for node, p in ports]
    print(render_table(["NODE", "PATH", "STATE", "DEVICE", "FIRMWARE", "IN", "OUT", "ACKS", "NAKS", "LAST ERROR"],
                       rows))
    return 0
