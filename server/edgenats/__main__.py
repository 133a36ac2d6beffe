"""`python -m edgenats` runs the broker, exactly like `edgenats-server`."""

from edgenats.cli.server_main import main

raise SystemExit(main())
