"""The write-ahead log: framed records in segment files, appended and fsynced in batches.

Segment file: 8-byte magic, then frames. Frame: magic(4) | payload length u32 | crc32 u32 |
payload. A frame whose length or checksum does not hold is torn (the process died while writing
it, so it was never acknowledged); reading stops there and the file is truncated to the last
whole frame. The per-frame magic lets a reader find the next whole frame if damage is ever in
the middle of a file rather than at its end.

Segment names: `<instance>.<segment:010d>.wal`, so recovery knows which instance and segment
a record belonged to and seals it under the same Parquet name.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from ingest.records import RawRecord, header_fields, header_pairs
from warehouse_files.durable import fsync_dir

FILE_MAGIC = b"VWAL\x00\x02\r\n"
FRAME_MAGIC = b"VWr1"
_FRAME = struct.Struct("<4sII")
# received_at_us, sequence, secret_id length, headers length, body length
_FIXED = struct.Struct("<qqHII")
MAX_PAYLOAD = 1 << 30
_NAME = re.compile(r"^(?P<instance>[A-Za-z0-9_-]+)\.(?P<segment>\d{10})\.wal$")


class LogRecord(NamedTuple):
    """A delivery as the log keeps it: only what the request path has without extra work.
    `headers` is `records.header_blob` output; `to_raw` derives the sealed columns from it."""

    received_at_us: int
    sequence: int
    secret_id: str
    headers: bytes
    body: bytes

    def to_raw(self) -> RawRecord:
        f = header_fields(header_pairs(self.headers))
        return RawRecord(
            f.delivery_id,
            f.source_event_id,
            f.topic,
            f.webhook_id,
            f.order_id,
            f.bag_id,
            f.headers_json,
            self.body,
            self.secret_id,
            self.received_at_us,
            self.sequence,
        )


def segment_name(instance: str, segment: int) -> str:
    return f"{instance}.{segment:010d}.wal"


def parse_segment_name(name: str) -> tuple[str, int] | None:
    m = _NAME.match(name)
    return (m["instance"], int(m["segment"])) if m else None


def encode(
    received_at_us: int, sequence: int, secret_id: bytes, headers: bytes, body: bytes
) -> bytes:
    """One framed record, ready to append. Runs once per request: one pack, one join."""
    payload = b"".join(
        (
            _FIXED.pack(received_at_us, sequence, len(secret_id), len(headers), len(body)),
            secret_id,
            headers,
            body,
        )
    )
    return _FRAME.pack(FRAME_MAGIC, len(payload), zlib.crc32(payload)) + payload


def encode_record(rec: LogRecord) -> bytes:
    return encode(rec.received_at_us, rec.sequence, rec.secret_id.encode(), rec.headers, rec.body)


class CorruptFrame(ValueError):
    pass


def decode_payload(payload: bytes) -> LogRecord:
    received_at_us, sequence, n_secret, n_headers, n_body = _FIXED.unpack_from(payload, 0)
    pos = _FIXED.size
    if pos + n_secret + n_headers + n_body != len(payload):
        raise CorruptFrame("field lengths do not add up to the frame")
    secret_id = payload[pos : pos + n_secret].decode("utf-8")
    pos += n_secret
    headers = payload[pos : pos + n_headers]
    pos += n_headers
    return LogRecord(received_at_us, sequence, secret_id, headers, payload[pos:])


@dataclass
class ReadResult:
    records: list[LogRecord]
    valid_end: int  # offset just past the last whole frame
    skipped_bytes: int  # damaged bytes between whole frames (not at the tail)
    torn_tail_bytes: int  # bytes after the last whole frame


def _frames(data: bytes, start: int) -> Iterator[tuple[int, int, LogRecord | None]]:
    """Yield (frame_start, frame_end, record-or-None-if-damaged) scanning from `start`."""
    pos = start
    size = len(data)
    while pos < size:
        if pos + _FRAME.size <= size:
            magic, length, crc = _FRAME.unpack_from(data, pos)
            end = pos + _FRAME.size + length
            if magic == FRAME_MAGIC and length <= MAX_PAYLOAD and end <= size:
                payload = data[pos + _FRAME.size : end]
                if zlib.crc32(payload) == crc:
                    try:
                        yield pos, end, decode_payload(payload)
                        pos = end
                        continue
                    except (CorruptFrame, struct.error, UnicodeDecodeError):
                        pass
        # Not a whole frame here: report it, then look for the next frame magic.
        nxt = data.find(FRAME_MAGIC, pos + 1)
        yield pos, (nxt if nxt != -1 else size), None
        if nxt == -1:
            return
        pos = nxt


def read_segment(path: Path) -> ReadResult:
    """Every whole record in the segment, and where the damage (if any) is."""
    data = path.read_bytes()
    if not data.startswith(FILE_MAGIC):
        # A file torn before its magic reached disk never held an acknowledged record.
        return ReadResult([], 0, 0, len(data))
    records: list[LogRecord] = []
    valid_end = len(FILE_MAGIC)
    damaged: list[tuple[int, int]] = []
    for start, end, rec in _frames(data, len(FILE_MAGIC)):
        if rec is None:
            damaged.append((start, end))
        else:
            records.append(rec)
            valid_end = end
    torn_tail = len(data) - valid_end
    skipped = sum(e - s for s, e in damaged if e <= valid_end)
    return ReadResult(records, valid_end, skipped, torn_tail)


def recover_segment(path: Path) -> ReadResult:
    """Read a segment left by a stopped process and cut any torn tail off the file."""
    result = read_segment(path)
    if result.torn_tail_bytes:
        with open(path, "r+b") as fh:
            fh.truncate(result.valid_end)
            fh.flush()
            os.fsync(fh.fileno())
    return result


class SegmentWriter:
    """An open segment: append whole batches, each followed by one fdatasync."""

    def __init__(self, directory: Path, instance: str, segment: int) -> None:
        self.path = directory / segment_name(instance, segment)
        self.instance = instance
        self.segment = segment
        self.count = 0  # acknowledged (fsynced) records
        self.opened_at_us: int | None = None  # received_at of the first record
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        self.broken = False
        try:
            # The magic reaches disk with the first batch's fdatasync; the directory entry is
            # made durable now, before anything in this file can be acknowledged.
            os.write(self._fd, FILE_MAGIC)
            fsync_dir(directory)
        except OSError:
            self.close()
            self.path.unlink(missing_ok=True)
            raise
        self.bytes = len(FILE_MAGIC)

    def append(self, frames: list[bytes]) -> None:
        """Write and fdatasync `frames` as one batch. Raises OSError; then the segment is broken
        and must not be appended to again (a later frame after a torn one would be unreachable
        to a plain reader)."""
        if self.broken:
            raise OSError("segment is broken after an earlier write failure")
        data = b"".join(frames)
        try:
            view = memoryview(data)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
            os.fdatasync(self._fd)
        except OSError:
            self.broken = True
            raise
        self.bytes += len(data)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
