from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest import sealer, wal
from ingest.records import SCHEMA, Columns, RawRecord, to_table
from tests.support import logrec, rec
from warehouse_files import layout

MIDNIGHT_US = 1_794_960_000_000_000  # 2026-11-18T00:00:00Z


def test_sealed_file_has_the_raw_delivery_schema(tmp_path: Path) -> None:
    records = [rec(i) for i in range(5)]
    [path] = sealer.seal(records, tmp_path, "inst-a", 7)
    table = pq.read_table(path)
    assert table.schema.names == SCHEMA.names
    assert table.schema.equals(SCHEMA, check_metadata=False)
    assert table.column("body").to_pylist() == [r.body for r in records]
    assert table.column("body_sha256").to_pylist() == [
        hashlib.sha256(r.body).hexdigest() for r in records
    ]
    assert set(table.column("ingest_instance").to_pylist()) == {"inst-a"}
    assert table.column("sequence").to_pylist() == [0, 1, 2, 3, 4]
    assert pq.ParquetFile(path).metadata.row_group(0).column(7).compression == "ZSTD"


def test_partitions_by_utc_receive_date_and_names_by_segment(tmp_path: Path) -> None:
    records = [
        rec(0, received_at_us=MIDNIGHT_US - 1),
        rec(1, received_at_us=MIDNIGHT_US),
        rec(2, received_at_us=MIDNIGHT_US + 5),
    ]
    paths = sealer.seal(records, tmp_path, "inst-a", 3)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        f"{layout.partition_name('2026-11-17')}/{layout.file_name('inst-a', 3)}",
        f"{layout.partition_name('2026-11-18')}/{layout.file_name('inst-a', 3)}",
    ]
    assert pq.read_table(paths[0]).column("sequence").to_pylist() == [0]
    assert pq.read_table(paths[1]).column("sequence").to_pylist() == [1, 2]
    ts = pq.read_table(paths[1]).column("received_at").type
    assert ts == pa.timestamp("us", tz="UTC")


def test_sealing_twice_rewrites_the_same_file(tmp_path: Path) -> None:
    records = [rec(i) for i in range(4)]
    [first] = sealer.seal(records, tmp_path, "inst-a", 1)
    before = first.read_bytes()
    [again] = sealer.seal(records, tmp_path, "inst-a", 1)
    assert again == first
    assert again.read_bytes() == before
    assert len(list(tmp_path.rglob("*.parquet"))) == 1


def test_a_failed_write_leaves_neither_a_partial_file_nor_a_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_write(table: pa.Table, where: Any, **kw: Any) -> None:
        where.write(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", half_write)
    final = layout.partition_dir(tmp_path, "2026-11-18") / layout.file_name("x", 0)
    with pytest.raises(OSError, match="No space"):
        sealer.write_parquet_atomic(to_table(Columns.of([rec(0)]), "x"), final)
    assert list(final.parent.iterdir()) == []


def test_seal_segment_drops_a_torn_tail_and_the_segment(tmp_path: Path) -> None:
    log_dir = layout.wal_dir(tmp_path)
    log_dir.mkdir()
    records = [logrec(i) for i in range(3)]
    w = wal.SegmentWriter(log_dir, "inst-b", 9)
    w.append([wal.encode_record(r) for r in records])
    w.close()
    with open(w.path, "ab") as fh:
        fh.write(wal.encode_record(logrec(3))[:-7])  # the process died mid-write
    raw = tmp_path / "raw"
    name = layout.temp_name(layout.file_name("inst-b", 9), "dead")
    stale = layout.partition_dir(raw, "2026-11-18") / name
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half")
    result = sealer.seal_segment(w.path, raw)
    assert result.records == 3
    assert result.torn_tail_bytes > 0
    assert not w.path.exists()
    assert not stale.exists()
    [path] = result.files
    assert pq.read_table(path).column("delivery_id").to_pylist() == ["evt-0", "evt-1", "evt-2"]


def test_seal_segment_of_an_empty_segment_writes_nothing(tmp_path: Path) -> None:
    w = wal.SegmentWriter(tmp_path, "inst-c", 0)
    w.close()
    result = sealer.seal_segment(w.path, tmp_path / "raw")
    assert result.files == []
    assert not w.path.exists()


def test_seal_segment_refuses_a_foreign_file(tmp_path: Path) -> None:
    other = tmp_path / "notes.wal"
    other.write_bytes(b"x")
    with pytest.raises(ValueError, match="not a log segment"):
        sealer.seal_segment(other, tmp_path)


def test_columns_round_trip_records() -> None:
    records: list[RawRecord] = [rec(i) for i in range(3)]
    cols = Columns.of(records)
    assert len(cols) == 3
    assert cols.records() == records
    assert cols.take([2, 0]).records() == [records[2], records[0]]


def _segment(directory: Path, instance: str, segment: int, records: list[wal.LogRecord]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    w = wal.SegmentWriter(directory, instance, segment)
    w.append([wal.encode_record(r) for r in records])
    w.close()
    return w.path


def test_a_shortened_segment_never_rewrites_its_file_with_fewer_rows(tmp_path: Path) -> None:
    # The state a crash left in the middle of releasing a sealed segment: the Parquet file is
    # complete, the segment lost its end (it reads as if it had a torn tail).
    records = [logrec(i) for i in range(10)]
    path = _segment(layout.wal_dir(tmp_path), "inst-d", 4, records)
    raw = tmp_path / "raw"
    [sealed] = sealer.seal([r.to_raw() for r in records], raw, "inst-d", 4)
    before = sealed.read_bytes()
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) * 4 // 10])
    result = sealer.seal_segment(path, raw)
    assert pq.read_table(sealed).column("sequence").to_pylist() == list(range(10))
    assert sealed.read_bytes() == before  # kept as it was, not rewritten
    [found] = result.existing
    assert found.outcome == "kept"
    assert (found.file_rows, found.only_in_file, found.only_in_log) == (10, 7, 0)
    assert not path.exists()


def test_rows_of_an_existing_file_and_of_the_log_are_merged_never_dropped(tmp_path: Path) -> None:
    records = [logrec(i) for i in range(10)]
    raw = tmp_path / "raw"
    [sealed] = sealer.seal([r.to_raw() for r in records[:6]], raw, "inst-e", 2)
    path = _segment(layout.wal_dir(tmp_path), "inst-e", 2, records[3:])
    result = sealer.seal_segment(path, raw)
    table = pq.read_table(sealed)
    assert table.column("sequence").to_pylist() == list(range(10))
    assert table.column("body").to_pylist() == [r.body for r in records]
    [found] = result.existing
    assert found.outcome == "merged"
    assert (found.only_in_file, found.only_in_log) == (3, 4)


def test_resealing_an_intact_segment_leaves_its_file_alone(tmp_path: Path) -> None:
    records = [logrec(i) for i in range(5)]
    raw = tmp_path / "raw"
    [sealed] = sealer.seal([r.to_raw() for r in records], raw, "inst-f", 0)
    mtime = sealed.stat().st_mtime_ns
    path = _segment(layout.wal_dir(tmp_path), "inst-f", 0, records)
    result = sealer.seal_segment(path, raw)
    assert sealed.stat().st_mtime_ns == mtime
    assert [f.outcome for f in result.existing] == ["identical"]
    assert result.files == [sealed]


def test_a_released_segment_left_by_a_killed_sealer_is_finished(tmp_path: Path) -> None:
    records = [logrec(i) for i in range(3)]
    path = _segment(layout.wal_dir(tmp_path), "inst-g", 1, records)
    released = sealer.released_path(path)
    path.rename(released)  # the sealer was killed after renaming the segment away
    result = sealer.seal_segment(path, tmp_path / "raw")
    assert result.already_released
    assert not released.exists()
    assert not path.exists()


def test_an_unreadable_file_in_the_way_is_kept_aside(tmp_path: Path) -> None:
    records = [logrec(i) for i in range(3)]
    raw = tmp_path / "raw"
    final = layout.partition_dir(raw, "2026-11-18") / layout.file_name("inst-h", 0)
    final.parent.mkdir(parents=True)
    final.write_bytes(b"not parquet at all")
    path = _segment(layout.wal_dir(tmp_path), "inst-h", 0, records)
    result = sealer.seal_segment(path, raw)
    assert pq.read_table(final).column("sequence").to_pylist() == [0, 1, 2]
    [found] = result.existing
    assert found.outcome == "unreadable"
    assert found.moved_to is not None
    assert found.moved_to.read_bytes() == b"not parquet at all"
    assert found.moved_to.name.startswith(".")  # out of the readers' *.parquet glob


def test_a_file_found_in_place_is_made_durable_before_its_segment_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sealer killed between the rename of its file and the fsync of the directory leaves a
    file whose name may not survive a power cut; the next seal finds it identical and must
    fsync it and its directory before the segment (the only other copy) is deleted."""
    records = [logrec(i) for i in range(5)]
    raw = tmp_path / "raw"
    [sealed] = sealer.seal([r.to_raw() for r in records], raw, "inst-d", 0)
    path = _segment(layout.wal_dir(tmp_path), "inst-d", 0, records)
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    real_release = sealer._release

    def release(segment: Path) -> None:
        # The segment is given up here: by then the file and its directory entry are durable.
        assert str(sealed) in synced, synced
        assert str(sealed.parent) in synced, synced
        real_release(segment)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(sealer, "_release", release)
    result = sealer.seal_segment(path, raw)
    assert [f.outcome for f in result.existing] == ["identical"]
    assert not path.exists()
