"""Sealing closed log segments into Parquet in a separate process (`ingest.sealer` does the
work), retrying failures, and reporting what sealing found."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ingest import sealer, wal
from ingest.store_state import StoreState

log = logging.getLogger("ingest.store")  # the store's parts log as one logger


def _sealer_init() -> None:
    # The sealing process stops when its parent asks (pool shutdown) or dies, not on the
    # terminal's or supervisor's signal meant for the server.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Sealing is background work: requests waiting on an fsync come first.
    with contextlib.suppress(OSError):
        os.nice(19)
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


class Sealing(StoreState):
    """Closed segments to Parquet in the sealing process; failures kept and retried."""

    _seal_pool: Executor | None
    _sealing: set[asyncio.Future[None]]
    _unsealed: list[wal.SegmentWriter]  # closed segments waiting for a seal

    def _pool(self) -> Executor:
        if self._seal_pool is None:
            # Sealing (hashing, Arrow, zstd) runs in its own process so that it never takes
            # the GIL from the request path; it reads the closed segment back from disk.
            self._seal_pool = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"), initializer=_sealer_init
            )
        return self._seal_pool

    def _start_seal(self, seg: wal.SegmentWriter) -> None:
        task = asyncio.ensure_future(self._seal(seg))
        self._sealing.add(task)
        task.add_done_callback(self._sealing.discard)

    async def _seal(self, seg: wal.SegmentWriter) -> None:
        loop = asyncio.get_running_loop()
        try:
            if self._stopping:
                # At shutdown seal here: the sealing process may already be gone with the
                # signal that stopped us.
                result = await self._in_io(sealer.seal_segment, seg.path, self.config.raw_dir)
            else:
                result = await loop.run_in_executor(
                    self._pool(), sealer.seal_segment, seg.path, self.config.raw_dir
                )
        except Exception as exc:  # noqa: BLE001 - kept in the log, logged, retried: not swallowed
            self.metrics.seal_failures.inc()
            self._unsealed.append(seg)
            if isinstance(exc, BrokenProcessPool):
                self._seal_pool = None
            log.error(
                "sealing failed; the segment stays in the log and is retried",
                extra={
                    "fields": {"event": "seal_failed", "segment": seg.path.name, "error": repr(exc)}
                },
            )
            return
        self.metrics.sealed_files.inc(len(result.files))
        self.metrics.sealed_records.inc(result.records)
        self._report_existing(seg.path.name, result)
        self.metrics.backlog_records.dec(seg.count)
        self.metrics.backlog_bytes.dec(seg.bytes - len(wal.FILE_MAGIC))
        for path in result.files:
            log.info(
                "sealed",
                extra={
                    "fields": {
                        "event": "sealed",
                        "file": str(path),
                        "records": result.records,
                        "segment": seg.path.name,
                    }
                },
            )

    def _report_existing(self, segment: str, result: sealer.SealResult) -> None:
        """Say what sealing found where a segment's Parquet file was already in place."""
        for found in result.existing:
            self.metrics.seal_existing_files.labels(found.outcome).inc()
            self.metrics.seal_rows_missing_from_log.inc(found.only_in_file)
            # identical is the expected result of a crash between rename and release; a file
            # with rows the log lacks, or that could not be read, means the log was damaged.
            level = logging.INFO if found.outcome == "identical" else logging.ERROR
            log.log(
                level,
                "the segment's Parquet file already existed",
                extra={
                    "fields": {
                        "event": "seal_found_existing_file",
                        "segment": segment,
                        "file": str(found.path),
                        "outcome": found.outcome,
                        "file_rows": found.file_rows,
                        "log_rows": found.log_rows,
                        "rows_only_in_file": found.only_in_file,
                        "rows_only_in_log": found.only_in_log,
                        "rows_differing": found.differing,
                        "moved_to": None if found.moved_to is None else str(found.moved_to),
                    }
                },
            )
        if result.already_released:
            log.info(
                "the segment was already released by an earlier, interrupted seal",
                extra={"fields": {"event": "seal_already_released", "segment": segment}},
            )

    async def _seal_backlog(self) -> None:
        """Retry segments whose sealing failed earlier."""
        retry, self._unsealed = self._unsealed, []
        for seg in retry:
            self._start_seal(seg)
        if self._sealing:
            await asyncio.gather(*self._sealing, return_exceptions=True)
