"""HTTP monitoring endpoints (/varz, /connz, /subsz, /healthz, ...) compatible with nats-server's."""

from edgenats.monitor.server import MonitorServer

__all__ = ["MonitorServer"]
