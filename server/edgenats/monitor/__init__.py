"""HTTP monitoring endpoints (/varz, /connz, /subsz, /healthz, ...) compatible with nats-server's.

The package imports nothing itself: the HTTP side (`edgenats.monitor.server`, with h11) loads only when
an `http` port is configured, while the report builders serve `$SYS` requests without it.
"""
