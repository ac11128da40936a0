"""The durable store behind the endpoint: group commit into the log, then sealing to Parquet.

Requests append records to an in-memory queue and wait. One flusher task writes everything
queued as one batch and makes it durable with one fdatasync (in a dedicated I/O thread, so the
event loop keeps accepting requests that form the next batch); only then are the waiting
requests released to answer 2xx. Full or old segments are handed to a sealing thread that
writes Parquet and deletes the segment only once the Parquet file is durable.

Each process takes a log *slot* (`wal/slot-K/`) under an exclusive flock, so worker processes
never share a log. A slot whose owner died is free again: the next process to take it, or any
process sweeping free slots at start-up, recovers its segments into Parquet.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import multiprocessing
import os
import secrets
import shutil
import signal
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple, TypeVar

from ingest import sealer, wal
from ingest.metrics import Metrics
from warehouse_files.durable import ensure_dir

log = logging.getLogger("ingest.store")
_T = TypeVar("_T")
MAX_SLOTS = 1024
_SEAL_RETRY_SECONDS = 5.0


# (framed log record, body length, the waiting request's future)
_Pending = tuple[bytes, int, "asyncio.Future[None]"]


class Problem(NamedTuple):
    """Why the store cannot take a delivery, for an HTTP answer: `cause` a short label,
    `reason` words. Neither carries OS error text or paths; those go to the log only."""

    cause: str
    reason: str


_SHUTTING_DOWN = Problem("shutting_down", "the service is shutting down")
_DATA_DIR = Problem("data_dir_unusable", "the data directory cannot be used (missing or a file)")
_OS_CAUSES = {
    errno.ENOSPC: Problem("disk_full", "the disk is full"),
    errno.EDQUOT: Problem("disk_full", "the disk quota is used up"),
    errno.EFBIG: Problem("file_size_limit", "a file reached the size limit"),
    errno.EROFS: Problem("read_only", "the file system is mounted read-only"),
    errno.EACCES: Problem("permission_denied", "no permission to write the data directory"),
    errno.EPERM: Problem("permission_denied", "no permission to write the data directory"),
    errno.EMFILE: Problem("too_many_open_files", "the process has no file descriptor left"),
    errno.ENFILE: Problem("too_many_open_files", "the system has no file descriptor left"),
    errno.EIO: Problem("io_error", "the disk reported an I/O error"),
    errno.EBUSY: Problem("no_log_slot", "every log slot is held by another process"),
    errno.ENOENT: _DATA_DIR,
    errno.ENOTDIR: _DATA_DIR,
    errno.EISDIR: _DATA_DIR,
    errno.EEXIST: _DATA_DIR,
}


def problem_of(exc: BaseException) -> Problem:
    if isinstance(exc, OSError) and exc.errno in _OS_CAUSES:
        return _OS_CAUSES[exc.errno]
    if isinstance(exc, OSError):
        return Problem("os_error", "the operating system refused a log write")
    return Problem("internal_error", "the log write failed")


class StoreUnavailable(Exception):
    """The delivery could not be made durable; the caller must not acknowledge it."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.reason)
        self.problem = problem


@dataclass(frozen=True)
class StoreConfig:
    wal_dir: Path
    raw_dir: Path
    instance_name: str
    seal_interval_seconds: float = 30.0
    seal_max_bytes: int = 64 * 1024 * 1024
    seal_max_records: int = 100_000
    min_free_bytes: int = 0


@dataclass
class _Slot:
    index: int
    directory: Path
    lock_fd: int


def _try_lock(directory: Path) -> int | None:
    """An fd holding an exclusive flock on the slot, or None if a live process holds it."""
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


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


def _unlock(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


class Store:
    def __init__(self, config: StoreConfig, metrics: Metrics) -> None:
        self.config = config
        self.metrics = metrics
        self.instance = ""
        self._slot: _Slot | None = None
        self._segment: wal.SegmentWriter | None = None
        self._next_segment = 0
        self._next_sequence = 0
        self._pending: list[_Pending] = []
        self._wake = asyncio.Event()
        self._rotate_requested = False
        self._stopping = False
        self._unsealed: list[wal.SegmentWriter] = []  # closed segments waiting for a seal
        self._sealing: set[asyncio.Future[None]] = set()
        self._io = ThreadPoolExecutor(1, thread_name_prefix="wal-io")
        self._seal_pool: Executor | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._leftovers: list[Path] = []  # segments of dead processes whose sealing failed
        self.last_error: str | None = None

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
            _unlock(self._slot.lock_fd)
            self._slot = None

    # ---- the request path --------------------------------------------------------------------

    async def append(self, headers: bytes, body: bytes, secret_id: bytes) -> int:
        """Return the delivery's sequence once it is durable in the log; raise
        StoreUnavailable otherwise. `headers` is `records.header_blob` output."""
        if self._stopping:
            raise StoreUnavailable(_SHUTTING_DOWN)
        sequence = self._next_sequence
        self._next_sequence += 1
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        frame = wal.encode(time.time_ns() // 1000, sequence, secret_id, headers, body)
        self._pending.append((frame, len(body), fut))
        self._wake.set()
        await fut
        return sequence

    async def _flush_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._pending:
                batch, self._pending = self._pending, []
                await self._commit(batch)
            seg = self._segment
            if seg is not None and (
                self._rotate_requested
                or seg.broken
                or seg.bytes >= self.config.seal_max_bytes
                or seg.count >= self.config.seal_max_records
            ):
                await self._rotate()
            if self._stopping and not self._pending:
                return

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            seconds = await self._in_io(self._write_batch, batch)
        except Exception as exc:  # noqa: BLE001 - answered 503 and logged; the flusher must live on
            self.last_error = f"log write failed: {exc!r}"
            self.metrics.store_errors.inc()
            log.error(
                "log write failed; batch answered 503",
                extra={"fields": {"event": "log_write_failed", "error": str(exc), "n": len(batch)}},
            )
            problem = problem_of(exc)
            for _, _, fut in batch:
                if not fut.done():
                    fut.set_exception(StoreUnavailable(problem))
            return
        self.last_error = None
        for _, _, fut in batch:
            if not fut.done():  # a request whose client went away is no longer waiting
                fut.set_result(None)
        m = self.metrics
        m.fsync_seconds.observe(seconds)
        m.batch_records.observe(len(batch))
        m.accepted.inc(len(batch))
        m.accepted_bytes.inc(sum(n for _, n, _ in batch))
        m.backlog_records.inc(len(batch))
        m.backlog_bytes.inc(sum(len(frame) for frame, _, _ in batch))

    def _write_batch(self, batch: list[_Pending]) -> float:
        seg = self._ensure_segment()
        started = time.perf_counter()
        seg.append([frame for frame, _, _ in batch])
        elapsed = time.perf_counter() - started
        if seg.opened_at_us is None:
            seg.opened_at_us = time.time_ns() // 1000
        seg.count += len(batch)
        return elapsed

    # ---- segments, slots, sealing -------------------------------------------------------------

    def _ensure_slot(self) -> _Slot:
        if self._slot is not None:
            return self._slot
        root = self.config.wal_dir
        ensure_dir(root)
        for index in range(MAX_SLOTS):
            directory = root / f"slot-{index}"
            ensure_dir(directory)
            fd = _try_lock(directory)
            if fd is not None:
                break
        else:
            raise OSError(errno.EBUSY, f"all {MAX_SLOTS} log slots under {root} are in use")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        self.instance = f"{self.config.instance_name}-s{index}-{stamp}-{secrets.token_hex(2)}"
        self._slot = _Slot(index, directory, fd)
        self._recover(directory)
        self._sweep_free_slots()
        log.info(
            "log slot taken",
            extra={"fields": {"event": "log_open", "slot": index, "instance": self.instance}},
        )
        return self._slot

    def _retry_leftovers(self) -> None:
        paths, self._leftovers = self._leftovers, []
        for path in paths:
            self._recover_one(path)

    def _sweep_free_slots(self) -> None:
        """Recover segments of slots no live process holds (e.g. after fewer workers restart)."""
        own = self._slot
        for directory in sorted(self.config.wal_dir.glob("slot-*")):
            if own is not None and directory == own.directory:
                continue
            if not any(directory.glob("*.wal")) and not any(
                directory.glob(f"*{sealer.RELEASED_SUFFIX}")
            ):
                continue
            fd = _try_lock(directory)
            if fd is None:
                continue
            try:
                self._recover(directory)
            finally:
                _unlock(fd)

    def _recover(self, directory: Path) -> None:
        for released in sorted(directory.glob(f"*{sealer.RELEASED_SUFFIX}")):
            # Sealed into Parquet, renamed away, not yet deleted when its process stopped.
            try:
                sealer.free_released(released)
            except OSError as exc:
                log.error(
                    "could not delete a released log segment; will retry at the next start",
                    extra={
                        "fields": {
                            "event": "release_failed",
                            "segment": released.name,
                            "error": str(exc),
                        }
                    },
                )
                continue
            log.info(
                "deleted a released log segment a stopped process left",
                extra={"fields": {"event": "log_release_finished", "segment": released.name}},
            )
        for path in sorted(directory.glob("*.wal")):
            self._recover_one(path)

    def _recover_one(self, path: Path) -> None:
        if wal.parse_segment_name(path.name) is None:
            log.warning(
                "ignoring a file that is not a log segment",
                extra={"fields": {"event": "log_foreign_file", "path": str(path)}},
            )
            return
        try:
            result = sealer.seal_segment(path, self.config.raw_dir)
        except OSError as exc:
            # The segment stays where it is; the ticker tries again, and serving goes on
            # with new segments meanwhile.
            self._leftovers.append(path)
            self.metrics.seal_failures.inc()
            log.error(
                "could not seal a leftover log segment; will retry",
                extra={
                    "fields": {"event": "recovery_failed", "segment": path.name, "error": str(exc)}
                },
            )
            return
        self.metrics.recovered_records.inc(result.records)
        self.metrics.torn_bytes.inc(result.torn_tail_bytes)
        self.metrics.sealed_files.inc(len(result.files))
        self.metrics.sealed_records.inc(result.records)
        self._report_existing(path.name, result)
        log.warning(
            "recovered log segment",
            extra={
                "fields": {
                    "event": "log_recovered",
                    "segment": path.name,
                    "records": result.records,
                    "torn_tail_bytes": result.torn_tail_bytes,
                    "damaged_bytes": result.damaged_bytes,
                    "files": [str(f) for f in result.files],
                }
            },
        )

    def _ensure_segment(self) -> wal.SegmentWriter:
        slot = self._ensure_slot()
        if self._segment is None:
            self._segment = wal.SegmentWriter(slot.directory, self.instance, self._next_segment)
            self._next_segment += 1
        return self._segment

    async def _rotate(self) -> None:
        """Close the open segment and queue it for sealing (runs between batches)."""
        self._rotate_requested = False
        seg = await self._in_io(self._detach_segment)
        if seg is not None:
            self._start_seal(seg)

    def _detach_segment(self) -> wal.SegmentWriter | None:
        seg, self._segment = self._segment, None
        if seg is None:
            return None
        seg.close()
        if not seg.count:
            # Nothing in it was acknowledged (empty, or only a failed batch): drop it.
            seg.path.unlink(missing_ok=True)
            return None
        return seg

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

    async def _tick_loop(self) -> None:
        interval = self.config.seal_interval_seconds
        step = min(1.0, interval / 4)
        last_retry = time.monotonic()
        while True:
            await asyncio.sleep(step)
            seg = self._segment
            if seg is not None and seg.opened_at_us is not None:
                age = time.time() - seg.opened_at_us / 1e6
                if age >= interval:
                    self._rotate_requested = True
                    self._wake.set()
            if (self._unsealed or self._leftovers) and (
                time.monotonic() - last_retry >= _SEAL_RETRY_SECONDS
            ):
                last_retry = time.monotonic()
                retry, self._unsealed = self._unsealed, []
                for s in retry:
                    self._start_seal(s)
                if self._leftovers:
                    await self._in_io(self._retry_leftovers)

    # ---- health ------------------------------------------------------------------------------

    async def check_ready(self) -> Problem | None:
        """None when a delivery could be stored now, else why not."""
        try:
            await self._in_io(self._ensure_segment)
            free = shutil.disk_usage(self.config.wal_dir).free
        except OSError as exc:
            log.warning(
                "not ready: the log cannot be opened",
                extra={"fields": {"event": "not_ready", "error": str(exc)}},
            )
            cause, reason = problem_of(exc)
            return Problem(cause, f"log not writable: {reason}")
        if free < self.config.min_free_bytes:
            return Problem(
                "low_disk",
                f"free disk {free} bytes is below the minimum {self.config.min_free_bytes}",
            )
        # The log opens and there is room: a failure seen earlier no longer holds.
        self.last_error = None
        return None

    async def _in_io(self, fn: Callable[..., _T], *args: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._io, fn, *args)
