"""`edgenats-serial --config FILE`: the serial bridge's entry point. Reads the config (refused whole, with
every problem, before anything starts), checks that pyserial (the `serial` extra) is there, and runs
`bridge.run` until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from edgenats.serial_bridge import config as bridge_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="edgenats-serial",
                                     description="Relay boards on serial ports to the local NATS broker.")
    parser.add_argument("--config", required=True, metavar="FILE", help="the bridge's JSON config")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    try:
        cfg = bridge_config.load(args.config)
    except bridge_config.ConfigError as error:
        print(f"edgenats-serial: {error}", file=sys.stderr)
        return 1
    try:
        from edgenats.serial_bridge.bridge import run  # pyserial is imported here, by the port handling
    except ImportError as error:
        if error.name != "serial":
            raise
        print("edgenats-serial: pyserial is not installed: pip install 'edgenats[serial]'", file=sys.stderr)
        return 1
    asyncio.run(run(cfg))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
