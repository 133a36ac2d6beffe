"""Query-string options of the monitoring endpoints, read the way nats-server reads them; a value it
would refuse raises `QueryError`, answered with 400 and nats-server's message.
"""

from __future__ import annotations

DEFAULT_LIMIT = 1024


class QueryError(Exception):
    """A query option with a value the endpoint cannot use (HTTP 400)."""


class Query:
    def __init__(self, query_string: str) -> None:
        from urllib.parse import parse_qs  # at the first report asked for, not in every broker

        self._values = parse_qs(query_string, keep_blank_values=True)

    def text(self, name: str, default: str = "") -> str:
        values = self._values.get(name)
        return values[0] if values else default

    def integer(self, name: str, default: int) -> int:
        text = self.text(name)
        if text == "":
            return default
        try:
            return int(text)
        except ValueError:
            raise QueryError(f"Error decoding int for '{name}': invalid syntax {text!r}") from None

    def flag(self, name: str) -> bool:
        """`subs=1`, `subs=true`, ...: Go's strconv.ParseBool; absent means false."""
        text = self.text(name)
        if text == "":
            return False
        if text in ("1", "t", "T", "true", "TRUE", "True"):
            return True
        if text in ("0", "f", "F", "false", "FALSE", "False"):
            return False
        raise QueryError(f"Error decoding boolean for '{name}': invalid syntax {text!r}")

    def paging(self) -> tuple[int, int]:
        """`offset` (default 0) and `limit` (default 1024; zero or negative also mean the default)."""
        offset = max(self.integer("offset", 0), 0)
        limit = self.integer("limit", DEFAULT_LIMIT)
        return offset, limit if limit > 0 else DEFAULT_LIMIT
