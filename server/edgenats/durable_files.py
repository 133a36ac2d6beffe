"""Files that survive a power cut: on an SD card only what was fsynced is kept. A file is replaced whole
(a temporary copy written and fsynced, renamed over the old one, the folder fsynced so the rename is
kept), and a folder is fsynced after a file in it is created, renamed or removed."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

TEMPORARY_SUFFIX = ".tmp"


def fsync_path(path: Path | str) -> None:
    """fsync a file or a folder by its path (a folder: the entries created, renamed or removed in it)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def replace_file(path: Path, text: str, durable: bool = True) -> None:
    """Write `text` to `path` whole: a reader sees the old file or the new one, never a part. With
    `durable`, both the new contents and the rename are on disk when this returns; without, only the
    order holds (a crash may leave the old file)."""
    temporary = path.with_name(path.name + TEMPORARY_SUFFIX)
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(text)
        if durable:
            file.flush()
            os.fsync(file.fileno())
    os.replace(temporary, path)
    if durable:
        fsync_path(path.parent)
