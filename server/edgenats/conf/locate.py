"""Where a config error's subject was written: an error names a path (`authorization.users[0]`, then
perhaps `unknown field 'pasword'`); the parsed blocks remember each key's line, so the deepest key of
that path, or the named field itself, gives the file and line to report.
"""

from __future__ import annotations

import re

from .model import ConfigMap, Position

_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
# `path: message`, where the path has no spaces (a message without one is located at its block).
_PATH_PREFIX = re.compile(r"^([A-Za-z_$][\w$.\[\]-]*): ")
_FIELD = re.compile(r"field ['\"]([^'\"]+)['\"]")


def _key(block: ConfigMap, name: str) -> str | None:
    """The key of `block` spelled `name` (config keys are case-insensitive)."""
    return next((key for key in block if key.lower() == name.lower()), None)


def _first_line(block: ConfigMap) -> Position | None:
    return min(block.positions.values(), key=lambda position: position.line, default=None)


def locate(block: object, path: str, field: str | None = None) -> Position | None:
    """The position of the deepest part of `path` (dotted keys and [index]) found under `block`, or of
    `field` within it when that is written there."""
    position = _first_line(block) if isinstance(block, ConfigMap) else None
    node = block
    for name, index in _SEGMENT.findall(path):
        if name:
            key = _key(node, name) if isinstance(node, ConfigMap) else None
            if key is None:
                break
            position = node.position_of(key) or position
            node = node[key]
        else:
            if not isinstance(node, list) or int(index) >= len(node):
                break
            node = node[int(index)]
            if isinstance(node, ConfigMap):
                position = _first_line(node) or position
    if field and isinstance(node, ConfigMap):
        key = _key(node, field)
        if key is not None:
            position = node.position_of(key) or position
    return position


def locate_message(block: object, message: str, strip: str = "") -> Position | None:
    """The position an error `message` of the form `path: text` is about, searched under `block`;
    `strip`: a leading path segment the block itself stands for (e.g. "authorization")."""
    prefix = _PATH_PREFIX.match(message)
    path = prefix.group(1) if prefix else ""
    if strip and (path == strip or path.startswith(strip + ".") or path.startswith(strip + "[")):
        path = path[len(strip):].lstrip(".")
    field = _FIELD.search(message)
    return locate(block, path, field.group(1) if field else None)
