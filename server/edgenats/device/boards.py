"""Board profiles (firmware/boards/*.json) and the source tree that holds the app and the client."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


class DeviceError(Exception):
    """A refusal the user can act on: the message says what is wrong and what to do."""


def default_source() -> Path | None:
    """The project checkout this package runs from, if it is one (an installed wheel has no firmware/)."""
    env = os.environ.get("EDGENATS_DEVICE_SOURCE")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[3]
    return checkout if (checkout / "firmware").is_dir() else None


def source_tree(source: str | os.PathLike | None) -> Path:
    """The folder holding firmware/ and micropython_client/, checked to be complete."""
    root = Path(source) if source else default_source()
    if root is None:
        raise DeviceError("cannot find the firmware sources: pass --source DIR (the folder holding firmware/ "
                          "and micropython_client/) or set EDGENATS_DEVICE_SOURCE")
    for needed in ("firmware/app/edgeapp.py", "firmware/boards", "micropython_client/build.py"):
        if not (root / needed).exists():
            raise DeviceError(f"{root} is not an edgenats source tree: {needed} is missing")
    return root


@dataclass
class Board:
    name: str
    description: str
    firmware: dict
    heap_bytes: int
    client: dict
    wifi: bool
    reset: str
    start: str


def board_names(root: Path) -> list[str]:
    return sorted(p.stem for p in (root / "firmware" / "boards").glob("*.json"))


def load_board(root: Path, name: str) -> Board:
    path = root / "firmware" / "boards" / f"{name}.json"
    if not path.is_file():
        raise DeviceError(f"unknown board {name!r}; known boards: {', '.join(board_names(root))}")
    return Board(**json.loads(path.read_text()))


def check_port(port: str) -> None:
    """Refuses a serial port that is not there, before any tool waits on it."""
    if not os.path.exists(port):
        raise DeviceError(f"serial port {port} does not exist: is the board plugged in? "
                          "(ls /dev/ttyUSB* /dev/ttyACM*)")
