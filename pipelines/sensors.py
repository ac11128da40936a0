"""A sensor that starts the warehouse job when new raw files are sealed."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from pipelines import _stale_runs as stale_runs
from pipelines.jobs import warehouse_job
from pipelines.resources import Warehouse
from warehouse_files import layout

# Files are listed only in recent partitions, so a tick's work does not grow with history.
LOOKBACK_DAYS = 2
MIN_INTERVAL_SECONDS = 30


def new_files(raw_dir: Path, cursor: str | None, today: datetime) -> tuple[list[str], str | None]:
    """Raw files newer than the cursor (mtime_ns, relative path) in the last few partitions.

    The cursor only avoids needless runs: what is loaded is decided by the ledger in the
    warehouse (ops.loaded_files), so a lost or stale cursor never loads a file twice.
    """
    last = tuple(json.loads(cursor)) if cursor else (0, "")
    found: list[tuple[int, str]] = []
    for back in range(LOOKBACK_DAYS + 1):
        day = (today - timedelta(days=back)).strftime("%Y-%m-%d")
        part = layout.partition_dir(raw_dir, day)
        if not part.is_dir():
            continue
        for path in part.glob("*.parquet"):
            key = (path.stat().st_mtime_ns, path.relative_to(raw_dir).as_posix())
            if key > last:
                found.append(key)
    if not found:
        return [], cursor
    found.sort()
    return [name for _, name in found], json.dumps(list(found[-1]))


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def parse_day(day: str) -> datetime:
    return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)


@dg.sensor(
    job=warehouse_job,
    minimum_interval_seconds=MIN_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs the warehouse job when the ingest service seals new raw Parquet files.",
)
def raw_files_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse) -> dg.SensorResult:
    # A run killed mid-step would hold the warehouse pool forever: end it first (stale_runs).
    # (A sensor evaluated outside an instance, as in unit tests, has none to sweep.)
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:
        instance = None
    for run in stale_runs.sweep(instance) if instance is not None else []:
        context.log.warning(f"freed stale run {run.run_id}: {run.reason}")
    files, cursor = new_files(warehouse.raw_dir, context.cursor, datetime.now(UTC))
    if not files:
        return dg.SensorResult(skip_reason="no new raw files", cursor=cursor)
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"raw:{cursor}", tags={"raw_files": str(len(files))})],
        cursor=cursor,
    )
