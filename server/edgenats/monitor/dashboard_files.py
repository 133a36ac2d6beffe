"""The site dashboard's files (`edgenats/monitor/dashboard/`: a page, its script, its style sheet),
read from the installed package once and served as they are at `/dashboard/<file>`; the page then
draws everything itself from the JSON endpoints. No build step and no third-party code: the
Content-Security-Policy lets the page load and fetch only from the monitoring port itself.
"""

from __future__ import annotations

from importlib import resources

CONTENT_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
HEADERS = [("Content-Security-Policy", "default-src 'self'; img-src 'self' data:"),
           ("Cache-Control", "no-cache"), ("X-Content-Type-Options", "nosniff")]


class DashboardFiles:
    def __init__(self) -> None:
        folder = resources.files("edgenats.monitor").joinpath("dashboard")
        self._files = {name: folder.joinpath(name).read_bytes() for name in CONTENT_TYPES}

    def get(self, name: str) -> tuple[bytes, str] | None:
        """(content, content type) of `name` (`""` is the page), or None for any other name."""
        name = name or "index.html"
        if name not in self._files:
            return None
        return self._files[name], CONTENT_TYPES[name]
