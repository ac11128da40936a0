"""The raw layout: where the ingest service seals deliveries and where the pipeline reads them.

    <data dir>/raw/violet/received_date=YYYY-MM-DD/part-<instance>-<segment:010d>.parquet
    <data dir>/wal/                       the ingest service's write-ahead log

The partition is the UTC date a delivery was received (Hive style, so DuckDB and Arrow read
`received_date` as a column). A file appears whole or not at all: it is written under a
temporary dot-name in its partition and renamed into place, so readers match `RAW_GLOB` (names
ending `.parquet`) and never see one being written. This is the only module that spells the
layout; everything else calls these functions.
"""

from __future__ import annotations

import re
from pathlib import Path

PARTITION_KEY = "received_date"
RAW_GLOB = f"{PARTITION_KEY}=*/*.parquet"  # relative to raw_dir(): every sealed file
_PARTITION = re.compile(rf"^{PARTITION_KEY}=(?P<day>\d{{4}}-\d{{2}}-\d{{2}})$")
_FILE = re.compile(r"^part-(?P<instance>.+)-(?P<segment>\d{10})\.parquet$")


def raw_dir(data_dir: Path) -> Path:
    """The root of the raw layout under a data directory."""
    return data_dir / "raw" / "violet"


def wal_dir(data_dir: Path) -> Path:
    """The ingest service's write-ahead log under a data directory."""
    return data_dir / "wal"


def partition_name(day: str) -> str:
    """The partition directory of a UTC receive date `YYYY-MM-DD`."""
    return f"{PARTITION_KEY}={day}"


def partition_dir(raw: Path, day: str) -> Path:
    return raw / partition_name(day)


def day_of_partition(name: str) -> str | None:
    """The date `YYYY-MM-DD` a partition directory holds, or None for another name."""
    m = _PARTITION.match(name)
    return m["day"] if m else None


def file_name(instance: str, segment: int) -> str:
    """The Parquet file of one log segment of one service instance (within a partition)."""
    return f"part-{instance}-{segment:010d}.parquet"


def parse_file_name(name: str) -> tuple[str, int] | None:
    """`(instance, segment)` of a sealed file's name, or None for another name."""
    m = _FILE.match(name)
    return (m["instance"], int(m["segment"])) if m else None


def temp_name(name: str, token: str) -> str:
    """Where `name` is written before its rename: a dot-name readers never match."""
    return f".{name}.{token}.tmp"


def temp_glob(name: str) -> str:
    """Every temporary file of `name` (left behind by an interrupted write)."""
    return f".{name}.*.tmp"


TEMP_GLOB = "**/.*.tmp"  # relative to raw_dir(): every temporary file of the layout


def aside_name(name: str, token: str) -> str:
    """Where an unreadable file is moved for a person to look at, out of the readers' glob."""
    return f".{name}.unreadable-{token}"
