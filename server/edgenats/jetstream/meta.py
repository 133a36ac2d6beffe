"""Stream metadata on disk, so streams survive a restart: `<store_dir>/<account>/streams/<name>/meta.json`
holds the normalised config and the creation time, written atomically (temporary file, fsync, rename,
fsync of the folder); the message store of a file stream lives in `store/` beside it."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

META_FILE = "meta.json"
STORE_FOLDER = "store"


@dataclass(frozen=True, slots=True)
class StreamMeta:
    config: dict
    created_ns: int


def streams_folder(store_dir: Path, account: str) -> Path:
    return store_dir / account / "streams"


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def save(folder: Path, meta: StreamMeta) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / (META_FILE + ".tmp")
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump({"config": meta.config, "created_ns": meta.created_ns}, file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, folder / META_FILE)
    _fsync_folder(folder)
    _fsync_folder(folder.parent)


def load_all(streams: Path) -> list[tuple[Path, StreamMeta]]:
    """Every stream folder with a readable meta.json, by name."""
    found = []
    if not streams.is_dir():
        return found
    for folder in sorted(streams.iterdir()):
        path = folder / META_FILE
        if not path.is_file():
            continue
        document = json.loads(path.read_text(encoding="utf-8"))
        found.append((folder, StreamMeta(document["config"], document["created_ns"])))
    return found


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
