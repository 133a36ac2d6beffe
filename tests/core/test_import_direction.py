"""The broker's imports run one way (docs/ARCHITECTURE.md): the protocol, the trie and the routing
core know nothing of the sessions or the server, the byte plumbing never imports the server, the
subsystems the server wires know it only through its surface, and no module imports another that
imports it back. Read from the source with ast (type-hint imports included), so a new upward import
or a new circle fails here, naming the files."""

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
    # Back-pressure sees receivers and publishers only through the little it needs of them.
    "backpressure.py": ("edgenats.server", "edgenats.client", "edgenats.connection", "edgenats.account",
                        "edgenats.routing", "edgenats.leafnode"),
    # Pacing is shared by JetStream sinks and leaf remotes, and knows neither.
    "pacing.py": ("edgenats.server", "edgenats.client", "edgenats.connection", "edgenats.account",
                  "edgenats.leafnode", "edgenats.jetstream"),
    "leafnode": ("edgenats.server", "edgenats.monitor", "edgenats.system"),
    "monitor": ("edgenats.server", "edgenats.leafnode", "edgenats.system"),
    "system": ("edgenats.server", "edgenats.leafnode"),
    "websocket": ("edgenats.server", "edgenats.monitor", "edgenats.system"),
    "surface.py": ("edgenats.server", "edgenats.client", "edgenats.leafnode", "edgenats.monitor",
                   "edgenats.system"),
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


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the package's modules it imports (`from pkg import name` counts as pkg.name when
    that is a module, else as pkg itself)."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in imported_modules(path):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_one_that_imports_it_back():
    assert circles(import_graph()) == []
