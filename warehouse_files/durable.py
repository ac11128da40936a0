"""Filesystem steps that make a change survive a crash: fsync of files and directories, durable
mkdir (the ingest service's log and raw files, the pipeline's published files)."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_file(path: Path) -> None:
    _fsync(path, os.O_RDONLY)


def fsync_dir(path: Path) -> None:
    _fsync(path, os.O_RDONLY | os.O_DIRECTORY)


def _fsync(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dir(path: Path) -> None:
    """Create `path` (and parents) so that the new directory entries survive a crash."""
    if path.is_dir():
        return
    ensure_dir(path.parent)
    try:
        path.mkdir()
    except FileExistsError:
        if not path.is_dir():
            raise
        return
    fsync_dir(path.parent)
