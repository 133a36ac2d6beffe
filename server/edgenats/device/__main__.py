"""`python -m edgenats.device provision|flash ...`: the device commands without the operator CLI."""

import argparse
import sys

from edgenats.device.commands import add_device_commands


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgenats.device")
    add_device_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["device", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
