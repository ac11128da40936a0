"""Group commit: requests queue their records and wait; one flusher writes each batch and makes
it durable with one fdatasync, then releases them to answer 2xx. Full or old segments are closed
and queued for sealing between batches."""

from __future__ import annotations

import asyncio
import logging
import time

from ingest import wal
from ingest.problems import Problem, StoreUnavailable, problem_of
from ingest.slots import Slots

log = logging.getLogger("ingest.store")  # the store's parts log as one logger

# (framed log record, body length, the waiting request's future)
_Pending = tuple[bytes, int, "asyncio.Future[None]"]


_SHUTTING_DOWN = Problem("shutting_down", "the service is shutting down")


class GroupCommit(Slots):
    """The request path: append, the flusher's batches, the open segment and its rotation."""

    _segment: wal.SegmentWriter | None
    _next_segment: int
    _next_sequence: int
    _pending: list[_Pending]
    _wake: asyncio.Event
    _rotate_requested: bool

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
