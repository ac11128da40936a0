"""Sealing: turning accepted records into Parquet files that appear whole or not at all.

A file is written under a temporary dot-name, fsynced, renamed into place and its directory
fsynced, so a reader globbing `*.parquet` never sees a partial file and a crash never leaves one.
File names are derived from (instance, segment), so sealing the same segment twice (a crash
between rename and log deletion) finds the same file instead of duplicating rows.

A sealed segment is released in an order no crash can turn into a shorter log: it is renamed to
`<name>.sealed` and the rename made durable before any of its bytes are freed. A crash leaves
either the whole `.wal` (sealed again) or a `.sealed` file (already in Parquet: only deleted);
a `.wal` file is never shortened but to cut a torn tail.

Sealing a segment whose Parquet file already exists never writes fewer rows than the file holds:
the two are compared by `sequence`; a file holding every row of the log is left as it is, and
rows only the file or only the log has are merged (`SealResult.existing` says what was found).
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest import wal
from ingest.records import SCHEMA, Columns, RawRecord, to_table
from warehouse_files import layout
from warehouse_files.durable import ensure_dir, fsync_dir, fsync_file

ROW_GROUP_ROWS = 128 * 1024
RELEASED_SUFFIX = ".sealed"
TEST_HOOK_ENV = "VIOLET_TEST_SEAL_HOOK"
_US_PER_DAY = 86_400_000_000
_RELEASE_STEP = 4 * 1024 * 1024


def write_parquet_atomic(table: pa.Table, final: Path) -> None:
    """Write `table` to `final` so that `final` is either absent or complete, and durable."""
    ensure_dir(final.parent)
    tmp = final.with_name(layout.temp_name(final.name, secrets.token_hex(4)))
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


def seal(records: Sequence[RawRecord], raw_dir: Path, instance: str, segment: int) -> list[Path]:
    """Write `records` as one Parquet file per UTC receive date; return the files written.

    `raw_dir` is the root of the raw layout (`layout.raw_dir`: `<data>/raw/violet`).
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
        final = layout.partition_dir(raw_dir, day) / layout.file_name(instance, segment)
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


@dataclass(frozen=True)
class ExistingFile:
    """What sealing found where the segment's Parquet file already existed. `outcome`:
    identical (the file held the log's rows: left alone), kept (it held them and more, which
    the log had lost: left alone), merged (rewritten with the rows of both), unreadable (moved
    aside to `moved_to`, written again from the log)."""

    path: Path
    outcome: str
    file_rows: int
    log_rows: int
    only_in_file: int
    only_in_log: int
    differing: int = 0  # same sequence, different content: both rows kept
    moved_to: Path | None = None


@dataclass
class SealResult:
    records: int = 0
    files: list[Path] = field(default_factory=list)
    torn_tail_bytes: int = 0
    damaged_bytes: int = 0
    existing: list[ExistingFile] = field(default_factory=list)
    already_released: bool = False  # the segment was gone: an earlier attempt released it


def released_path(segment: Path) -> Path:
    """Where a sealed segment is moved before its bytes are freed."""
    return segment.with_suffix(RELEASED_SUFFIX)


def seal_segment(path: Path, raw_dir: Path) -> SealResult:
    """Turn one closed log segment into Parquet, then release (delete) the segment.

    The same step serves a segment that was closed normally and one left behind by a process
    that died: a torn tail is cut off first, temp files of an interrupted earlier attempt are
    removed, the Parquet name depends only on the segment, and a file already there is kept or
    merged with, never replaced by fewer rows. So repeating this after a crash at any point
    loses nothing and duplicates nothing. Runs in the sealing process or at start-up.
    """
    parsed = wal.parse_segment_name(path.name)
    if parsed is None:
        raise ValueError(f"{path.name} is not a log segment name")
    instance, segment = parsed
    if not path.exists():
        free_released(released_path(path))
        return SealResult(already_released=True)
    read = wal.recover_segment(path)
    result = SealResult(
        records=len(read.records),
        torn_tail_bytes=read.torn_tail_bytes,
        damaged_bytes=read.skipped_bytes,
    )
    if read.records:
        columns = Columns.of(r.to_raw() for r in read.records)
        name = layout.file_name(instance, segment)
        for day in days_of(columns):
            for tmp in layout.partition_dir(raw_dir, day).glob(layout.temp_glob(name)):
                tmp.unlink(missing_ok=True)
        result.files, result.existing = _seal_keeping(columns, raw_dir, instance, segment)
        _test_hook("parquet_written")
    _release(path)
    return result


def _seal_keeping(
    columns: Columns, raw_dir: Path, instance: str, segment: int
) -> tuple[list[Path], list[ExistingFile]]:
    """`seal_columns`, except that a file already in place is compared with, not replaced."""
    by_day: dict[int, list[int]] = defaultdict(list)
    for i, received_at_us in enumerate(columns.received_at_us()):
        by_day[received_at_us // _US_PER_DAY].append(i)
    written: list[Path] = []
    found: list[ExistingFile] = []
    for day_number, indices in sorted(by_day.items()):
        day = datetime.fromtimestamp(day_number * 86_400, UTC).strftime("%Y-%m-%d")
        final = layout.partition_dir(raw_dir, day) / layout.file_name(instance, segment)
        part = columns if len(by_day) == 1 else columns.take(indices)
        table = to_table(part, instance)
        if final.exists():
            found.append(_onto_existing(table, final))
        else:
            write_parquet_atomic(table, final)
        written.append(final)
    return written, found


def _onto_existing(table: pa.Table, final: Path) -> ExistingFile:
    """Make `final` hold every row of `table` and every row it held already."""
    try:
        old = pq.read_table(final)
        old_sequences = old.column("sequence").to_pylist()
    except (OSError, pa.ArrowException, KeyError):
        # Files appear whole (fsync, then rename), so this is damage from outside; keep the
        # file for a person to look at, out of the readers' glob, and write the log's rows.
        aside = final.with_name(layout.aside_name(final.name, secrets.token_hex(4)))
        os.replace(final, aside)
        write_parquet_atomic(table, final)
        n = table.num_rows
        return ExistingFile(final, "unreadable", 0, n, 0, n, moved_to=aside)
    new_sequences = table.column("sequence").to_pylist()
    at = {seq: i for i, seq in enumerate(old_sequences)}
    only_in_log: list[int] = []
    common: list[tuple[int, int]] = []
    for i, seq in enumerate(new_sequences):
        j = at.get(seq)
        if j is None:
            only_in_log.append(i)
        else:
            common.append((j, i))
    differing = _differing(old, table, common)
    only_in_file = len(old_sequences) - len(common)
    counts = (len(old_sequences), len(new_sequences), only_in_file, len(only_in_log))
    if not only_in_log and not differing:
        # Kept as it is; but a sealer killed between its rename and the directory fsync may
        # have left it not yet durable, and the segment is about to go.
        fsync_file(final)
        fsync_dir(final.parent)
        outcome = "identical" if only_in_file == 0 else "kept"
        return ExistingFile(final, outcome, *counts)
    extra = table.take(only_in_log + differing)
    merged = pa.concat_tables([old, extra], promote_options="default")
    write_parquet_atomic(merged.sort_by("sequence"), final)
    return ExistingFile(final, "merged", *counts, differing=len(differing))


def _differing(old: pa.Table, new: pa.Table, common: list[tuple[int, int]]) -> list[int]:
    """Indices (in `new`) of rows whose sequence is in `old` with other content."""
    if not common:
        return []
    names = [n for n in SCHEMA.names if n in old.schema.names]
    old_rows = old.select(names).take([j for j, _ in common]).to_pylist()
    new_rows = new.select(names).take([i for _, i in common]).to_pylist()
    return [i for (_, i), a, b in zip(common, old_rows, new_rows, strict=True) if a != b]


def _release(path: Path) -> None:
    """Give up a sealed segment: renamed away durably first, its bytes freed after."""
    released = released_path(path)
    os.replace(path, released)
    fsync_dir(path.parent)
    _test_hook("released")
    free_released(released)


def free_released(path: Path) -> None:
    """Delete a released segment. No directory fsync: a deletion lost in a crash leaves a
    `.sealed` file, which recovery deletes again. The file is shrunk in steps first, so that
    freeing a large segment's blocks does not hold up the log's next fdatasync behind one big
    journal commit."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    with open(path, "r+b") as fh:
        while size > _RELEASE_STEP:
            size -= _RELEASE_STEP
            fh.truncate(size)
            _test_hook("shrinking")
    path.unlink(missing_ok=True)


def _test_hook(point: str) -> None:
    """Crash injection for the tests, read only here.

    VIOLET_TEST_SEAL_HOOK=<point>:<action>:<marker> makes the process sealing a segment stop the
    first time it reaches <point> (parquet_written, released, shrinking): `kill` SIGKILLs itself,
    `pause` sleeps (up to 120 s) until killed. The marker file, created then with the process id
    in it, makes it happen once and tells the test which process to kill."""
    spec = os.environ.get(TEST_HOOK_ENV)
    if not spec:
        return
    want, action, marker = spec.split(":", 2)
    if want != point:
        return
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(120)
