"""The durable store behind the endpoint: group commit into the log, then sealing to Parquet.

Requests append records to an in-memory queue and wait. One flusher task writes everything
queued as one batch and makes it durable with one fdatasync (in a dedicated I/O thread, so the
event loop keeps accepting requests that form the next batch); only then are the waiting
requests released to answer 2xx. Full or old segments are handed to a sealing process that
writes Parquet and deletes the segment only once the Parquet file is durable.

Each process takes a log *slot* (`wal/slot-K/`) under an exclusive flock, so worker processes
never share a log. A slot whose owner died is free again: the next process to take it, or any
process sweeping free slots at start-up, recovers its segments into Parquet.

This module is the façade the app uses; the parts are one module each: `commit` (append and
group commit), `slots` (log slots and recovery), `sealing` (the sealing process and retries),
`ticker` (segment age, retry timing), `readiness` (`/readyz`), `problems` (causes for a 503),
`store_state` (the settings and the state the parts share). Each part is a class the next builds
on (StoreState <- Sealing <- Slots <- GroupCommit <- Ticker, Readiness <- Store): one object
holds the state, and the methods are those of the single class they were split from, unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor

from ingest.metrics import Metrics
from ingest.problems import StoreUnavailable
from ingest.readiness import Readiness
from ingest.slots import unlock
from ingest.store_state import StoreConfig
from ingest.ticker import Ticker

__all__ = ["Store", "StoreConfig", "StoreUnavailable"]

log = logging.getLogger("ingest.store")  # the store's parts log as one logger


class Store(Ticker, Readiness):
    """Start, stop and the state of the store; each part's methods live in its module."""

    def __init__(self, config: StoreConfig, metrics: Metrics) -> None:
        self.config = config
        self.metrics = metrics
        self.instance = ""
        self._slot = None
        self._segment = None
        self._next_segment = 0
        self._next_sequence = 0
        self._pending = []
        self._wake = asyncio.Event()
        self._rotate_requested = False
        self._stopping = False
        self._unsealed = []
        self._sealing = set()
        self._io = ThreadPoolExecutor(1, thread_name_prefix="wal-io")
        self._seal_pool = None
        self._tasks: list[asyncio.Task[None]] = []
        self._leftovers = []
        self.last_error = None

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Take a slot and recover leftovers; a failure here leaves the store answering 503
        (and retrying on every batch) rather than stopping the process."""
        try:
            await self._in_io(self._ensure_slot)
        except OSError as exc:
            self.last_error = f"cannot open the log: {exc}"
            log.error(
                "log unavailable at start-up; deliveries will be answered 503",
                extra={"fields": {"event": "log_unavailable", "error": str(exc)}},
            )
        self._tasks = [
            asyncio.create_task(self._flush_loop(), name="wal-flusher"),
            asyncio.create_task(self._tick_loop(), name="wal-ticker"),
        ]

    async def close(self) -> None:
        """Drain queued requests, seal everything, release the slot."""
        self._stopping = True
        self._wake.set()
        flusher, ticker = self._tasks
        await flusher
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        await self._rotate()
        await self._seal_backlog()
        if self._sealing:
            await asyncio.gather(*self._sealing, return_exceptions=True)
        if self._unsealed:
            log.error(
                "stopping with unsealed log segments; they are recovered at the next start",
                extra={"fields": {"event": "unsealed_at_stop", "segments": len(self._unsealed)}},
            )
        self._io.shutdown(wait=True)
        if self._seal_pool is not None:
            self._seal_pool.shutdown(wait=True)
        if self._slot is not None:
            unlock(self._slot.lock_fd)
            self._slot = None
