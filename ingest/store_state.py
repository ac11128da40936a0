"""The store's settings and the state every part of it shares (`ingest/store.py` assembles
the parts)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ingest.metrics import Metrics

_T = TypeVar("_T")


@dataclass(frozen=True)
class StoreConfig:
    wal_dir: Path
    raw_dir: Path
    instance_name: str
    seal_interval_seconds: float = 30.0
    seal_max_bytes: int = 64 * 1024 * 1024
    seal_max_records: int = 100_000
    min_free_bytes: int = 0


class StoreState:
    """What the parts share; `Store.__init__` sets it all."""

    config: StoreConfig
    metrics: Metrics
    _io: ThreadPoolExecutor  # the one I/O thread: log writes, slot and segment work
    _stopping: bool
    last_error: str | None

    async def _in_io(self, fn: Callable[..., _T], *args: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._io, fn, *args)
