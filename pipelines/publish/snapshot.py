"""The analysts' file, analytics.duckdb: published as a copy of the warehouse by atomic rename.

The file a publish replaces is retired (given a second name) rather than freed by the rename,
and deleted in the background of the next run: on these machines' ext4 disks, freeing a 640 MB
file written shortly before took 0.2-0.8 s, which the rename made part of every run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from pathlib import Path

from pipelines import _catalog, storage
from pipelines import _sql as sql
from pipelines.resources import Warehouse
from warehouse_files.durable import fsync_dir, fsync_file

RETIRED = ".retired-"


def publish(warehouse: Warehouse) -> int:
    """Copy the warehouse to analytics.duckdb.tmp, make it durable, then atomically replace
    analytics.duckdb. Readers holding the old file keep it until they reconnect; nothing they
    do can block this (the new file is a new inode). Returns the snapshot's size in bytes.

    Every COMMENT is (re)applied first: a step that recreates a table (staging.topics is
    rebuilt by every step's prepare) drops its comments, and the snapshot is what analysts and
    the data dictionary read.

    After a CHECKPOINT the database file is complete on its own (its WAL is empty), so the
    snapshot is a plain file copy, made while our connection holds the file's lock so that no
    one can write to it meanwhile: 1.8 GB in about a second, where COPY FROM DATABASE took 30 s.
    The copy is in the warehouse's storage version, which DuckDB 1.4+ reads (storage.py); a
    warehouse made in DuckDB 2's own version (before it was created in v1.4.0) or whose WAL
    could not be folded in is copied through DuckDB into a v1.4.0 file instead.
    """
    snapshot = warehouse.snapshot
    tmp = snapshot.with_name(snapshot.name + ".tmp")
    tmp.unlink(missing_ok=True)
    wal = warehouse.database.with_name(warehouse.database.name + ".wal")
    with warehouse.connection() as con:
        _catalog.apply(con, sql.SCHEMAS)
        con.execute("checkpoint")
        row = con.execute("select current_database()").fetchone()
        assert row is not None
        source = str(row[0])
        wal_pending = wal.exists() and wal.stat().st_size > 0
        if wal_pending or not storage.readable_by_duckdb1(con, source):
            options = storage.attach_options(exists=False)
            con.execute(f"attach ? as snapshot_out ({options})", [str(tmp)])
            try:
                con.execute(f'copy from database "{source}" to snapshot_out')
            finally:
                con.execute("detach snapshot_out")
        else:
            shutil.copyfile(warehouse.database, tmp)
    fsync_file(tmp)
    _retire(snapshot)
    os.replace(tmp, snapshot)
    fsync_dir(snapshot.parent)
    return snapshot.stat().st_size


def retired(warehouse: Warehouse) -> list[Path]:
    """Snapshots replaced by a publish and not deleted yet."""
    return sorted(warehouse.snapshot.parent.glob(f"{warehouse.snapshot.name}{RETIRED}*"))


def reap_in_background(warehouse: Warehouse) -> threading.Thread:
    """Delete the retired snapshots in a thread (a run starts it while DuckDB is busy loading)."""
    files = retired(warehouse)
    thread = threading.Thread(target=_unlink, args=(files,), name="reap-snapshots", daemon=True)
    thread.start()
    return thread


def _retire(snapshot: Path) -> None:
    """Give the current snapshot a second name, so that replacing it frees nothing now."""
    if not snapshot.exists():
        return
    with contextlib.suppress(OSError):  # no hard links on this file system: the rename frees it
        os.link(snapshot, snapshot.with_name(f"{snapshot.name}{RETIRED}{time.time_ns()}"))


def _unlink(files: list[Path]) -> None:
    for path in files:
        path.unlink(missing_ok=True)
