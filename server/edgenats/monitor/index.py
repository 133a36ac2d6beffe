"""`/`: a small HTML page linking every monitoring endpoint (as nats-server's), and the dashboard."""

from __future__ import annotations

from html import escape

from edgenats import __version__

_LINKS = (
    ("General", "varz"),
    ("Connections", "connz"),
    ("Subscriptions", "subsz"),
    ("Routes", "routez"),
    ("Gateways", "gatewayz"),
    ("Leaf Nodes", "leafz"),
    ("JetStream", "jsz"),
    ("Health Probe", "healthz"),
    ("Services", "servicez"),
    ("Prometheus metrics", "metrics"),
)


def build_index(server_name: str) -> bytes:
    # Relative links keep the page working behind a reverse proxy that adds a path prefix.
    links = "\n".join(f'    <li><a href="./{path}">{title}</a> <code>/{path}</code></li>' for title, path in _LINKS)
    page = f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>edgenats monitoring</title>
  </head>
  <body>
    <h1>edgenats {escape(__version__)}</h1>
    <p>Server <code>{escape(server_name)}</code> · <a href="./dashboard/">Site dashboard</a></p>
    <ul>
{links}
    </ul>
  </body>
</html>
"""
    return page.encode("utf-8")
