"""Log slots (`wal/slot-K/`, one per process under an exclusive flock) and recovery: the
segments a dead process left are sealed by the next one to take its slot, or by the sweep of free
slots at start-up."""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ingest import sealer, wal
from ingest.sealing import Sealing
from warehouse_files.durable import ensure_dir

log = logging.getLogger("ingest.store")  # the store's parts log as one logger
MAX_SLOTS = 1024


@dataclass
class _Slot:
    index: int
    directory: Path
    lock_fd: int


def try_lock(directory: Path) -> int | None:
    """An fd holding an exclusive flock on the slot, or None if a live process holds it."""
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def unlock(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


class Slots(Sealing):
    """This process's log slot, and recovery of the segments dead processes left."""

    instance: str
    _slot: _Slot | None
    _leftovers: list[Path]  # segments of dead processes whose sealing failed

    def _ensure_slot(self) -> _Slot:
        if self._slot is not None:
            return self._slot
        root = self.config.wal_dir
        ensure_dir(root)
        for index in range(MAX_SLOTS):
            directory = root / f"slot-{index}"
            ensure_dir(directory)
            fd = try_lock(directory)
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
            fd = try_lock(directory)
            if fd is None:
                continue
            try:
                self._recover(directory)
            finally:
                unlock(fd)

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
        except Exception as exc:  # noqa: BLE001 - kept in the log, logged, retried: not swallowed
            # The segment stays where it is; the ticker tries again, and serving goes on
            # with new segments meanwhile (an OS error or anything else: e.g. a Parquet file
            # in the way whose columns cannot be merged with the log's).
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
