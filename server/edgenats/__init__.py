"""edgenats: a NATS-compatible message broker for edge nodes."""

__version__ = "0.1.0"

# The nats-server release whose client-facing behaviour this broker reproduces; clients gate
# features on a semver in INFO, so we advertise this one.
NATS_COMPAT_VERSION = "2.10.0"
