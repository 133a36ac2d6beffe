"""Plain data of the config reader: the error type, source positions and the map type it returns."""

from __future__ import annotations

from dataclasses import dataclass


class ConfigError(Exception):
    """A config file could not be read: names the file, the 1-based line (0 if unknown) and the problem."""

    def __init__(self, filename: str, line: int, message: str) -> None:
        super().__init__(filename, line, message)
        self.filename = filename
        self.line = line
        self.message = message

    def __str__(self) -> str:
        if self.line:
            return f"{self.filename}:{self.line}: {self.message}"
        return f"{self.filename}: {self.message}"


@dataclass(frozen=True)
class Position:
    """Where something was written in a config file."""

    filename: str
    line: int


class ConfigMap(dict):
    """A parsed block: a dict that also remembers where each of its keys was defined."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.positions: dict[str, Position] = {}
        # Keys a `$name` reference resolved to: nats-server ignores such keys where it knows no setting.
        self.used_as_variables: set[str] = set()

    def set_entry(self, key: str, value: object, position: Position) -> None:
        self[key] = value
        self.positions[key] = position

    def position_of(self, key: str) -> Position | None:
        return self.positions.get(key)
