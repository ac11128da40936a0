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

from ingest.durable import fsync_dir
from ingest.records import RawRecord

FILE_MAGIC = b"VWAL\x00\x01\r\n"
FRAME_MAGIC = b"VWr1"
_FRAME = struct.Struct("<4sII")
_FIXED = struct.Struct("<qqI")  # received_at_us, sequence, body length
_LEN = struct.Struct("<i")
_NULL = -1
MAX_PAYLOAD = 1 << 30
_NAME = re.compile(r"^(?P<instance>[A-Za-z0-9_-]+)\.(?P<segment>\d{10})\.wal$")

# RawRecord fields stored as length-prefixed UTF-8 (None as length -1), in this order.
_TEXT_FIELDS = (
    "delivery_id",
    "source_event_id",
    "topic",
    "webhook_id",
    "order_id",
    "bag_id",
    "headers",
    "secret_id",
)


def segment_name(instance: str, segment: int) -> str:
    return f"{instance}.{segment:010d}.wal"


def parse_segment_name(name: str) -> tuple[str, int] | None:
    m = _NAME.match(name)
    return (m["instance"], int(m["segment"])) if m else None


def _pack_text(value: str | None) -> bytes:
    if value is None:
        return _LEN.pack(_NULL)
    raw = value.encode("utf-8")
    return _LEN.pack(len(raw)) + raw


def encode(rec: RawRecord) -> bytes:
    """One framed record, ready to append."""
    payload = b"".join(
        [
            _FIXED.pack(rec.received_at_us, rec.sequence, len(rec.body)),
            _pack_text(rec.delivery_id),
            _pack_text(rec.source_event_id),
            _pack_text(rec.topic),
            _pack_text(rec.webhook_id),
            _pack_text(rec.order_id),
            _pack_text(rec.bag_id),
            _pack_text(rec.headers),
            _pack_text(rec.secret_id),
            rec.body,
        ]
    )
    return _FRAME.pack(FRAME_MAGIC, len(payload), zlib.crc32(payload)) + payload


class CorruptFrame(ValueError):
    pass


def decode_payload(payload: bytes) -> RawRecord:
    received_at_us, sequence, body_len = _FIXED.unpack_from(payload, 0)
    pos = _FIXED.size
    texts: list[str | None] = []
    for _ in _TEXT_FIELDS:
        (n,) = _LEN.unpack_from(payload, pos)
        pos += _LEN.size
        if n == _NULL:
            texts.append(None)
            continue
        if n < 0 or pos + n > len(payload):
            raise CorruptFrame("text field overruns the frame")
        texts.append(payload[pos : pos + n].decode("utf-8"))
        pos += n
    if pos + body_len != len(payload):
        raise CorruptFrame("body length does not match the frame")
    headers, secret_id = texts[6], texts[7]
    if headers is None or secret_id is None:
        raise CorruptFrame("headers and secret_id are never null")
    return RawRecord(
        texts[0],
        texts[1],
        texts[2],
        texts[3],
        texts[4],
        texts[5],
        headers,
        payload[pos:],
        secret_id,
        received_at_us,
        sequence,
    )


@dataclass
class ReadResult:
    records: list[RawRecord]
    valid_end: int  # offset just past the last whole frame
    skipped_bytes: int  # damaged bytes between whole frames (not at the tail)
    torn_tail_bytes: int  # bytes after the last whole frame


def _frames(data: bytes, start: int) -> Iterator[tuple[int, int, RawRecord | None]]:
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
    records: list[RawRecord] = []
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
