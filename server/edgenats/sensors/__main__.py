"""`python -m edgenats.sensors` runs the sensor service, exactly like `edgenats-sensors`."""

from edgenats.sensors.main import main

raise SystemExit(main())
