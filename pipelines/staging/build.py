"""The staging build as plain functions over a DuckDB connection (the asset and tests call them).

One transaction per batch of raw files: only files missing from the ledger (ops.loaded_files)
are read, parsed once into deliveries, quarantine and events (sql/staging/).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from pipelines import _sql as sql
from pipelines import clock
from pipelines._db import drop_temp, scalar, transaction
from warehouse_files import layout

RAW_GLOB = layout.RAW_GLOB
# How far after its receipt a body's timestamps may be (Violet's clock against ours): a version
# dated later is quarantined (future_timestamp) instead of becoming current state until then.
FUTURE_TOLERANCE = timedelta(hours=clock.DEFAULT_FUTURE_TOLERANCE_HOURS)


@dataclass
class LoadResult:
    batch_id: int | None = None
    files: int = 0
    deliveries: int = 0
    quarantined: int = 0
    events_touched: int = 0
    pending_files: int = 0  # still waiting after this load (when max_files cut it short)


def load_all(
    con: duckdb.DuckDBPyConnection,
    raw_dir: Path,
    run_id: str = "",
    batch_bytes: int = 0,
    future_tolerance: timedelta = FUTURE_TOLERANCE,
) -> list[LoadResult]:
    """Load every pending file, in transactions of about `batch_bytes` of Parquet each (0: one
    transaction), and return each batch's result."""
    results = []
    while True:
        result = load_staging(
            con, raw_dir, run_id, max_bytes=batch_bytes or None, future_tolerance=future_tolerance
        )
        if result.files:
            results.append(result)
        if not result.pending_files:
            return results


def raw_files(raw_dir: Path) -> list[str]:
    """Sealed raw files, as paths relative to raw_dir (temp files start with '.': never seen)."""
    if not raw_dir.is_dir():
        return []
    return sorted(p.relative_to(raw_dir).as_posix() for p in raw_dir.glob(RAW_GLOB))


def pending_files(con: duckdb.DuckDBPyConnection, raw_dir: Path) -> list[str]:
    loaded = {row[0] for row in con.execute("select file from ops.loaded_files").fetchall()}
    return [f for f in raw_files(raw_dir) if f not in loaded]


def load_staging(
    con: duckdb.DuckDBPyConnection,
    raw_dir: Path,
    run_id: str = "",
    max_files: int | None = None,
    max_bytes: int | None = None,
    future_tolerance: timedelta = FUTURE_TOLERANCE,
) -> LoadResult:
    """Load raw files not yet in the ledger into staging.deliveries/events/quarantine, as one
    transaction. At most `max_files` files, and files up to `max_bytes` (at least one file),
    so that a backlog can be loaded in batches of bounded memory. A body dated more than
    `future_tolerance` after its receipt is quarantined (future_timestamp)."""
    sql.prepare(con)
    pending = pending_files(con, raw_dir)
    todo = pending if max_files is None else pending[:max_files]
    if max_bytes is not None:
        total = 0
        for i, name in enumerate(todo):
            total += (raw_dir / name).stat().st_size
            if total > max_bytes and i > 0:
                todo = todo[:i]
                break
    result = LoadResult(pending_files=len(pending) - len(todo))
    if not todo:
        return result
    with transaction(con):
        batch_id = scalar(con, "select coalesce(max(batch_id), 0) + 1 from ops.loaded_files")
        con.execute("set variable batch_id = ?", [batch_id])
        con.execute("set variable violet_future_tolerance = ?", [future_tolerance])
        con.execute("set variable staging_files = ?", [[str(raw_dir / f) for f in todo]])
        con.execute("set variable staging_raw_dir = ?", [str(raw_dir)])
        sql.run(con, "staging", "new_raw")
        sql.run(con, "staging", "topic_families")
        sql.run(con, "staging", "deliveries")
        sql.run(con, "staging", "quarantine")
        sql.run(con, "staging", "events")
        con.execute(
            "insert into ops.loaded_files "
            "select f.file, f.bytes, coalesce(n.deliveries, 0), ?, ?, ? "
            "from (select unnest(?) as file, unnest(?) as bytes) as f "
            "left join (select raw_file as file, count(*) as deliveries from new_parsed group by 1)"
            " as n using (file)",
            [
                batch_id,
                datetime.now(UTC),
                run_id,
                todo,
                [(raw_dir / f).stat().st_size for f in todo],
            ],
        )
        result.batch_id = batch_id
        result.files = len(todo)
        result.deliveries = scalar(con, "select count(*) from new_parsed")
        result.quarantined = scalar(
            con, "select count(*) from new_parsed where quarantine_reason is not null"
        )
        result.events_touched = scalar(con, "select count(*) from touched_events")
        drop_temp(con)
    return result
