from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest import wal
from tests.support import logrec


def write_segment(directory: Path, records: list[wal.LogRecord], segment: int = 0) -> Path:
    w = wal.SegmentWriter(directory, "inst-a", segment)
    w.append([wal.encode_record(r) for r in records])
    w.close()
    return w.path


def test_round_trip_keeps_every_field_and_the_exact_body(tmp_path: Path) -> None:
    records = [
        logrec(0),
        logrec(1, body=b""),
        logrec(2, body=b"\x00\xff not json"),
        logrec(3, headers=b""),
        logrec(4, headers=b"x-odd\0caf\xe9\0x-violet-event-id-source\0evt-0", secret_id="old"),
    ]
    path = write_segment(tmp_path, records)
    result = wal.read_segment(path)
    assert result.records == records
    assert result.torn_tail_bytes == 0
    assert result.valid_end == path.stat().st_size


def test_segment_names_round_trip() -> None:
    assert wal.parse_segment_name(wal.segment_name("host-s0-20261128T000000-ab12", 42)) == (
        "host-s0-20261128T000000-ab12",
        42,
    )
    assert wal.parse_segment_name("notes.txt") is None


def test_empty_log_has_no_records(tmp_path: Path) -> None:
    w = wal.SegmentWriter(tmp_path, "inst-a", 0)
    w.close()
    assert wal.read_segment(w.path).records == []
    empty = tmp_path / wal.segment_name("inst-a", 1)
    empty.write_bytes(b"")
    result = wal.recover_segment(empty)
    assert result.records == []
    assert empty.stat().st_size == 0


def test_torn_file_magic_means_nothing_was_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / wal.segment_name("inst-a", 0)
    path.write_bytes(wal.FILE_MAGIC[:3])
    result = wal.recover_segment(path)
    assert result.records == []
    assert result.torn_tail_bytes == 3


def test_every_possible_torn_tail_is_detected_and_truncated(tmp_path: Path) -> None:
    records = [logrec(i) for i in range(3)]
    path = write_segment(tmp_path, records)
    whole = path.read_bytes()
    last = wal.encode_record(records[-1])
    good_end = len(whole) - len(last)
    for cut in range(good_end + 1, len(whole)):
        path.write_bytes(whole[:cut])
        result = wal.recover_segment(path)
        assert result.records == records[:-1], cut
        assert result.torn_tail_bytes == cut - good_end
        assert path.stat().st_size == good_end
    path.write_bytes(whole)
    assert wal.recover_segment(path).records == records


def test_a_flipped_bit_in_the_last_frame_drops_only_that_frame(tmp_path: Path) -> None:
    records = [logrec(i) for i in range(3)]
    path = write_segment(tmp_path, records)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x40
    path.write_bytes(bytes(data))
    result = wal.recover_segment(path)
    assert result.records == records[:2]
    assert result.torn_tail_bytes > 0


def test_damage_in_the_middle_skips_to_the_next_whole_frame(tmp_path: Path) -> None:
    records = [logrec(i) for i in range(4)]
    path = write_segment(tmp_path, records)
    data = bytearray(path.read_bytes())
    second = len(wal.FILE_MAGIC) + len(wal.encode_record(records[0]))
    data[second + 20] ^= 0xFF  # inside the second frame's payload
    path.write_bytes(bytes(data))
    result = wal.read_segment(path)
    assert [r.sequence for r in result.records] == [0, 2, 3]
    assert result.skipped_bytes == len(wal.encode_record(records[1]))
    assert result.torn_tail_bytes == 0


def test_many_segments_each_recover_their_own_records(tmp_path: Path) -> None:
    paths = [write_segment(tmp_path, [logrec(10 * s + i) for i in range(5)], s) for s in range(12)]
    seen = [r.sequence for p in sorted(paths) for r in wal.read_segment(p).records]
    assert seen == [10 * s + i for s in range(12) for i in range(5)]


def test_a_writer_appends_batches_and_counts_bytes(tmp_path: Path) -> None:
    w = wal.SegmentWriter(tmp_path, "inst-a", 3)
    w.append([wal.encode_record(logrec(0)), wal.encode_record(logrec(1))])
    w.append([wal.encode_record(logrec(2))])
    w.close()
    assert w.bytes == w.path.stat().st_size
    assert [r.sequence for r in wal.read_segment(w.path).records] == [0, 1, 2]


def test_a_failed_write_breaks_the_segment(tmp_path: Path) -> None:
    w = wal.SegmentWriter(tmp_path, "inst-a", 0)
    os.close(w._fd)  # the disk went away under us
    with pytest.raises(OSError, match="Bad file descriptor"):
        w.append([wal.encode_record(logrec(0))])
    assert w.broken
    with pytest.raises(OSError, match="broken"):
        w.append([wal.encode_record(logrec(1))])
    w._fd = -1


def test_a_segment_is_never_opened_twice(tmp_path: Path) -> None:
    wal.SegmentWriter(tmp_path, "inst-a", 0).close()
    with pytest.raises(FileExistsError):
        wal.SegmentWriter(tmp_path, "inst-a", 0)


def test_a_log_record_becomes_a_raw_record_with_typed_header_columns() -> None:
    raw = logrec(
        5,
        headers=b"\x00".join(
            [
                *(b"x-violet-topic", b"BAG_X", b"x-violet-event-id", b"e5"),
                *(b"x-violet-event-id-source", b"e1", b"x-violet-order-id", b"10"),
                *(b"x-violet-bag-id", b"20", b"x-violet-webhook-id", b"wh"),
            ]
        ),
    ).to_raw()
    assert raw[:6] == ("e5", "e1", "BAG_X", "wh", "10", "20")
    assert raw.body == logrec(5).body
    assert (raw.secret_id, raw.sequence) == ("primary", 5)
