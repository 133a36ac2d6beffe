"""`edgenats`: the operator's command line. Each command group registers its own subcommands.

A command group is a function `add_<group>_commands(subparsers)` that adds parsers and sets a
`func(args) -> int` default on each (the exit status); list it in COMMAND_GROUPS. Commands raise
CommandError for failures the operator should read; `main` prints those as one line on stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from edgenats import __version__
from edgenats.cli.bench_command import add_bench_commands
from edgenats.cli.client_commands import add_client_commands
from edgenats.cli.connection_options import add_connection_arguments
from edgenats.cli.creds_commands import add_creds_commands
from edgenats.cli.errors import CommandError
from edgenats.cli.micro_commands import add_micro_commands
from edgenats.cli.sensors_commands import add_sensors_commands
from edgenats.cli.serial_commands import add_serial_commands
from edgenats.cli.server_commands import add_server_commands
from edgenats.cli.service_commands import add_service_commands
from edgenats.cli.stream_commands import add_stream_commands
from edgenats.device.commands import add_device_commands

CommandGroup = Callable[[argparse._SubParsersAction], None]

COMMAND_GROUPS: tuple[CommandGroup, ...] = (
    add_client_commands,
    add_server_commands,
    add_stream_commands,
    add_micro_commands,
    add_bench_commands,
    add_device_commands,
    add_creds_commands,
    add_service_commands,
    add_sensors_commands,
    add_serial_commands,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgenats", description="Operate an edgenats (or any NATS) server.")
    parser.add_argument("--version", action="version", version=f"edgenats {__version__}")
    add_connection_arguments(parser, with_defaults=True)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for add_commands in COMMAND_GROUPS:
        add_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # asyncio's warnings about nats-py's transports (e.g. "returning true from eof_received() has no effect
    # when using ssl" on every TLS close) are no news for the user of a command.
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    parser = build_parser()
    args = parser.parse_args(argv)
    command = getattr(args, "func", None)
    if command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return command(args)
    except CommandError as error:
        print(f"edgenats: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`edgenats sub ... | head`); point stdout at devnull so the
        # interpreter's final flush does not complain about the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
