"""The broker's imports run one way (docs/ARCHITECTURE.md): the protocol, the trie and the routing
core know nothing of the sessions or the server, and the byte plumbing never imports the server, even
for type hints. Read from the source with ast, so a new upward import fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "server" / "edgenats"

# module (path below the package) -> modules it must never import, not even under TYPE_CHECKING
FORBIDDEN = {
    "protocol": ("edgenats.server", "edgenats.client", "edgenats.connection", "edgenats.account",
                 "edgenats.routing", "edgenats.delivery", "edgenats.leafnode", "edgenats.monitor"),
    "subjects.py": ("edgenats.server", "edgenats.client", "edgenats.connection", "edgenats.account",
                    "edgenats.routing", "edgenats.delivery", "edgenats.sublist"),
    "sublist.py": ("edgenats.server", "edgenats.client", "edgenats.connection", "edgenats.account",
                   "edgenats.routing", "edgenats.delivery", "edgenats.leafnode"),
    "delivery.py": ("edgenats.server", "edgenats.client", "edgenats.connection", "edgenats.account",
                    "edgenats.routing", "edgenats.leafnode"),
    "routing.py": ("edgenats.server", "edgenats.client", "edgenats.connection", "edgenats.account",
                   "edgenats.leafnode"),
    "internal.py": ("edgenats.server", "edgenats.client", "edgenats.connection", "edgenats.account",
                    "edgenats.routing", "edgenats.leafnode"),
    "account.py": ("edgenats.server", "edgenats.client", "edgenats.connection", "edgenats.leafnode"),
    "connection.py": ("edgenats.server", "edgenats.client", "edgenats.account", "edgenats.leafnode",
                      "edgenats.routing"),
    # The WebSocket framing carries any connection; only the listener knows it makes client sessions.
    "websocket/adapter.py": ("edgenats.server", "edgenats.client", "edgenats.account", "edgenats.leafnode"),
    "websocket/transport.py": ("edgenats.server", "edgenats.client", "edgenats.account", "edgenats.leafnode"),
}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def files(place: str) -> list[Path]:
    path = PACKAGE / place
    return sorted(path.rglob("*.py")) if path.is_dir() else [path]


@pytest.mark.parametrize("place", sorted(FORBIDDEN))
def test_no_upward_import(place):
    upward = []
    for path in files(place):
        for name in imported_modules(path):
            if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN[place]):
                upward.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert upward == []
