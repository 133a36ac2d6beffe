"""Stream metadata on disk, so streams survive a restart: `<store_dir>/<account>/streams/<name>/meta.json`
holds the normalised config and the creation time, written atomically (temporary file, fsync, rename,
fsync of the folder); the message store of a file stream lives in `store/` beside it, and each durable
consumer's config and position in `consumers/<name>.json` (position updates are renamed into place
without an fsync: after a crash a consumer may redeliver, never skip)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from edgenats.durable_files import fsync_path, replace_file

META_FILE = "meta.json"
STORE_FOLDER = "store"
CONSUMERS_FOLDER = "consumers"


@dataclass(frozen=True, slots=True)
class StreamMeta:
    config: dict
    created_ns: int


def streams_folder(store_dir: Path, account: str) -> Path:
    return store_dir / account / "streams"


def _write(folder: Path, file_name: str, document: dict, durable: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    replace_file(folder / file_name, json.dumps(document), durable)
    if durable:
        fsync_path(folder.parent)  # the folder itself may be new


def save(folder: Path, meta: StreamMeta) -> None:
    _write(folder, META_FILE, {"config": meta.config, "created_ns": meta.created_ns}, durable=True)


def save_consumer(stream_folder: Path, name: str, document: dict, durable: bool) -> None:
    """A durable consumer's `{"config", "created_ns", "delivered", "ack_floor"}`; `durable` (an fsync)
    when it is created, not for position updates."""
    _write(stream_folder / CONSUMERS_FOLDER, name + ".json", document, durable)


def load_consumers(stream_folder: Path) -> list[dict]:
    folder = stream_folder / CONSUMERS_FOLDER
    if not folder.is_dir():
        return []
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]


def remove_consumer(stream_folder: Path, name: str) -> None:
    (stream_folder / CONSUMERS_FOLDER / (name + ".json")).unlink(missing_ok=True)


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
