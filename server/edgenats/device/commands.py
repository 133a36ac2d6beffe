"""argparse wiring for `device provision` and `device flash`; each parsed command's `func(args)` returns
the exit status (0 done, 1 refused with a message on stderr)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from edgenats.device.boards import DeviceError, load_board, source_tree
from edgenats.device.flash import flash
from edgenats.device.provision import provision


def add_device_commands(subparsers) -> None:
    """Register `device provision` and `device flash` on an argparse subparsers object."""
    device = subparsers.add_parser("device", help="put MicroPython, the unats client and the app on a board")
    actions = device.add_subparsers(dest="device_command", required=True)

    prov = actions.add_parser("provision", help="compile and copy the client, app and config.json to a board")
    prov.add_argument("--board", required=True, help="board profile: esp32, esp8266, picow, unix")
    prov.add_argument("--port", required=True, help="the board's serial port, e.g. /dev/ttyUSB0")
    prov.add_argument("--config", required=True, type=Path, help="the device's settings (JSON)")
    prov.add_argument("--source", help="folder holding firmware/ and micropython_client/ (default: this checkout)")
    prov.add_argument("--dry-run", action="store_true", help="print the plan, touch no board")
    prov.set_defaults(func=run_provision)

    fl = actions.add_parser("flash", help="write a MicroPython firmware image to a board")
    fl.add_argument("--board", required=True, help="board profile: esp32, esp8266, picow")
    fl.add_argument("--port", required=True, help="the board's serial port, e.g. /dev/ttyUSB0")
    fl.add_argument("--image", required=True, type=Path, help="the MicroPython image (.bin for ESP, .uf2 for Pico)")
    fl.add_argument("--source", help="folder holding firmware/ (default: this checkout)")
    fl.add_argument("--dry-run", action="store_true", help="print the esptool commands, touch no board")
    fl.set_defaults(func=run_flash)


def refused(err: Exception) -> int:
    print(f"edgenats device: {err}", file=sys.stderr)
    return 1


def run_provision(args) -> int:
    try:
        root = source_tree(args.source)
        board = load_board(root, args.board)
        try:
            cfg = json.loads(args.config.read_text())
        except (OSError, ValueError) as e:
            raise DeviceError(f"cannot read the device config {args.config}: {e}") from e
        if not isinstance(cfg, dict):
            raise DeviceError(f"{args.config} must hold a JSON object")
        provision(root, board, args.port, cfg, dry_run=args.dry_run)
    except DeviceError as e:
        return refused(e)
    return 0


def run_flash(args) -> int:
    try:
        root = source_tree(args.source)
        flash(load_board(root, args.board), args.port, args.image, dry_run=args.dry_run)
    except DeviceError as e:
        return refused(e)
    return 0
