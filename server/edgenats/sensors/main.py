"""`edgenats-sensors --config FILE`: the sensor service's entry point. A config mistake is printed
one a line and exits 2; without Blinka and the drivers (the `sensors` extra) it says what to install."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
from collections.abc import Sequence

from edgenats.logs import configure_logging
from edgenats.sensors.config import ConfigError, load_config

EXTRA_MODULES = ("busio", "adafruit_bme280", "adafruit_sht31d")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="edgenats-sensors",
                                     description="Read the Pi's I2C sensors and publish their readings to NATS.")
    parser.add_argument("--config", required=True, metavar="FILE", help="the service's JSON config")
    parser.add_argument("-D", "--debug", action="store_true", help="log debug lines (connection errors)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        for line in str(error).splitlines():
            print(f"edgenats-sensors: {args.config}: {line}", file=sys.stderr)
        return 2
    missing = [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        print(f"edgenats-sensors: {', '.join(missing)} not installed: pip install 'edgenats[sensors]'",
              file=sys.stderr)
        return 2
    configure_logging(debug=args.debug, trace=False, with_time=True, log_file=None)
    from edgenats.sensors.runner import run_service  # imports Blinka, checked above

    asyncio.run(run_service(config))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
