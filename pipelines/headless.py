"""The warehouse job run headlessly on the local Dagster instance in <data>/dagster_home
(`python -m pipelines materialize`, `runs`, and the demo), so a headless run shows in the UI's
run history and sensor cursors and schedule state survive restarts."""

from __future__ import annotations

import os
from pathlib import Path

DAGSTER_YAML = """\
# Written by violet-warehouse on first use; edit freely.
concurrency:
  pools:
    # Every asset runs in pool "warehouse": one step at a time writes warehouse.duckdb.
    default_limit: 1
telemetry:
  enabled: false
# Dagster's SQLite event log, keeping its connections open (pipelines/event_log.py): the same
# files as the default, less bookkeeping per run (bench/RESULTS.md). Remove these lines for the
# stock class.
event_log_storage:
  module: pipelines.event_log
  class: PooledSqliteEventLogStorage
"""


def prepare_environment() -> Path:
    """Resolve the data directory and point DAGSTER_HOME into it; return the data directory."""
    data_dir = Path(os.environ.get("VIOLET_DATA_DIR") or "data").resolve()
    home = data_dir / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    os.environ["VIOLET_DATA_DIR"] = str(data_dir)
    os.environ["DAGSTER_HOME"] = str(home)
    return data_dir


def materialize(log_level: str = "INFO") -> int:
    data_dir = prepare_environment()
    import dagster as dg

    from pipelines import _stale_runs as stale_runs
    from pipelines.definitions import defs

    job = defs.resolve_job_def("warehouse_job")
    with dg.DagsterInstance.get() as instance:
        for run in stale_runs.sweep(instance):
            print(f"freed stale run {run.run_id} ({run.reason}; slots: {list(run.slots)})")
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        )
        failed_checks = [
            f"{e.asset_check_evaluation_data.asset_key.to_user_string()}:"
            f"{e.asset_check_evaluation_data.check_name}"
            for e in result.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"
            and e.asset_check_evaluation_data is not None
            and not e.asset_check_evaluation_data.passed
        ]
    print(f"run {result.run_id}: {'succeeded' if result.success else 'FAILED'} ({data_dir})")
    for name in failed_checks:
        print(f"  check did not pass: {name}")
    return 0 if result.success else 1


def runs(free: bool) -> int:
    """List (and with `free`, end and free) runs that hold the warehouse pool but are gone."""
    prepare_environment()
    import dagster as dg

    from pipelines import _stale_runs as stale_runs

    with dg.DagsterInstance.get() as instance:
        info = instance.event_log_storage.get_concurrency_info(stale_runs.POOL)
        claimed = [f"{s.run_id} ({s.step_key})" for s in info.claimed_slots]
        print(f"pool {stale_runs.POOL}: limit {info.slot_count}, held by: {claimed or 'nobody'}")
        stale = stale_runs.find(instance)
        for run in stale:
            print(f"stale run {run.run_id}: {run.status}, {run.reason}; slots: {list(run.slots)}")
        if not stale:
            print("no stale runs")
        elif free:
            stale_runs.free(instance, stale)
            print(f"freed {len(stale)} stale run(s)")
        else:
            print("free them with: python -m pipelines runs --free")
    return 0
