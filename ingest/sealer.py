"""Sealing: turning accepted records into Parquet files that appear whole or not at all.

A file is written under a temporary dot-name, fsynced, renamed into place and its directory
fsynced, so a reader globbing `*.parquet` never sees a partial file and a crash never leaves one.
File names are derived from (instance, segment), so sealing the same segment twice (a crash
between rename and log deletion) rewrites the same file instead of duplicating rows.
"""

from __future__ import annotations

import os
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest import wal
from ingest.durable import ensure_dir, fsync_dir
from ingest.records import Columns, RawRecord, to_table

PARTITION_KEY = "received_date"
ROW_GROUP_ROWS = 128 * 1024
_US_PER_DAY = 86_400_000_000


def write_parquet_atomic(table: pa.Table, final: Path) -> None:
    """Write `table` to `final` so that `final` is either absent or complete, and durable."""
    ensure_dir(final.parent)
    tmp = final.with_name(f".{final.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as fh:
            pq.write_table(
                table,
                fh,
                compression="zstd",
                row_group_size=ROW_GROUP_ROWS,
                use_dictionary=["topic", "secret_id", "ingest_instance", "webhook_id"],
                write_statistics=True,
            )
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(final.parent)


def partition_dir(raw_dir: Path, day: str) -> Path:
    return raw_dir / f"{PARTITION_KEY}={day}"


def file_name(instance: str, segment: int) -> str:
    return f"part-{instance}-{segment:010d}.parquet"


def seal(records: Sequence[RawRecord], raw_dir: Path, instance: str, segment: int) -> list[Path]:
    """Write `records` as one Parquet file per UTC receive date; return the files written.

    `raw_dir` is the root of the raw layout (`<data>/raw/violet`).
    """
    return seal_columns(Columns.of(records), raw_dir, instance, segment)


def seal_columns(columns: Columns, raw_dir: Path, instance: str, segment: int) -> list[Path]:
    """`seal` for records already held column by column."""
    by_day: dict[int, list[int]] = defaultdict(list)
    for i, received_at_us in enumerate(columns.received_at_us()):
        by_day[received_at_us // _US_PER_DAY].append(i)
    written = []
    for day_number, indices in sorted(by_day.items()):
        day = datetime.fromtimestamp(day_number * 86_400, UTC).strftime("%Y-%m-%d")
        final = partition_dir(raw_dir, day) / file_name(instance, segment)
        part = columns if len(by_day) == 1 else columns.take(indices)
        write_parquet_atomic(to_table(part, instance), final)
        written.append(final)
    return written


def days_of(columns: Columns) -> set[str]:
    """The partition dates (YYYY-MM-DD) the records fall into."""
    return {
        datetime.fromtimestamp(d * 86_400, UTC).strftime("%Y-%m-%d")
        for d in {us // _US_PER_DAY for us in columns.received_at_us()}
    }


@dataclass
class SealResult:
    records: int = 0
    files: list[Path] = field(default_factory=list)
    torn_tail_bytes: int = 0
    damaged_bytes: int = 0


def seal_segment(path: Path, raw_dir: Path) -> SealResult:
    """Turn one closed log segment into Parquet, then delete the segment.

    The same step serves a segment that was closed normally and one left behind by a process
    that died: a torn tail is cut off first, temp files of an interrupted earlier attempt are
    removed, and the Parquet name depends only on the segment, so repeating this after a crash
    at any point rewrites the same files. Runs in the sealing process or at start-up.
    """
    parsed = wal.parse_segment_name(path.name)
    if parsed is None:
        raise ValueError(f"{path.name} is not a log segment name")
    instance, segment = parsed
    read = wal.recover_segment(path)
    result = SealResult(
        records=len(read.records),
        torn_tail_bytes=read.torn_tail_bytes,
        damaged_bytes=read.skipped_bytes,
    )
    if read.records:
        columns = Columns.of(r.to_raw() for r in read.records)
        name = file_name(instance, segment)
        for day in days_of(columns):
            for tmp in partition_dir(raw_dir, day).glob(f".{name}.*.tmp"):
                tmp.unlink(missing_ok=True)
        result.files = seal_columns(columns, raw_dir, instance, segment)
    _drop(path)
    return result


def _drop(path: Path) -> None:
    """Delete a sealed segment. No directory fsync: if the deletion is lost in a crash, the
    segment is sealed again into the same file names, which changes nothing. The file is
    shrunk in steps first, so that freeing a large segment's blocks does not hold up the
    log's next fdatasync behind one big journal commit."""
    size = path.stat().st_size
    step = 4 * 1024 * 1024
    with open(path, "r+b") as fh:
        while size > step:
            size -= step
            fh.truncate(size)
    path.unlink()
