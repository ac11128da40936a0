"""The Dagster code location, run for real: definitions, a job run, checks, sensor, snapshot."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines import _catalog, sensors
from pipelines.definitions import defs
from pipelines.publish import snapshot
from pipelines.resources import Warehouse
from pipelines.sensors import raw_files_sensor
from pipelines.staging import build as staging_build
from warehouse_files import layout

from .conftest import WORLD, World, end_of

ROOT = Path(__file__).resolve().parents[2]


def copy_raw(world: World, data_dir: Path, files: list[str] | None = None) -> list[str]:
    names = files if files is not None else staging_build.raw_files(world.raw_dir)
    for name in names:
        target = layout.raw_dir(data_dir) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(world.raw_dir / name, target)
    return names


def run_job(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dg.ExecuteInProcessResult:
    """A run of the whole job, finance looking from the end of the world's span."""
    monkeypatch.setenv("VIOLET_DATA_DIR", str(data_dir))
    config = {"resources": {"finance": {"config": {"as_of": end_of(WORLD)}}}}
    return defs.resolve_job_def("warehouse_job").execute_in_process(
        run_config=config, raise_on_error=False
    )


def test_definitions_load_with_descriptions() -> None:
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    keys = list(graph.get_all_asset_keys())
    assert len(keys) >= 25
    for key in keys:
        assert graph.get(key).description, f"{key} has no description"
    assert {s.name for s in repo.sensor_defs} == {"raw_files_sensor"}
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in repo.sensor_defs)
    assert all(s.default_status == dg.DefaultScheduleStatus.RUNNING for s in repo.schedule_defs)
    assert len(list(graph.asset_check_keys)) >= 25


def test_a_run_builds_checks_and_publishes(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    copy_raw(world, data_dir)
    result = run_job(data_dir, monkeypatch)
    assert result.success
    checks = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    blocking_failed = [
        c.check_name
        for c in checks
        if c is not None and not c.passed and c.severity.value == "ERROR"
    ]
    assert blocking_failed == []
    materialized = {
        e.asset_key.to_user_string()
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key is not None
    }
    assert {
        "staging/events",
        "core/orders",
        "core/orders_history",
        "publish/analytics_snapshot",
        "finance/exceptions",
        "finance/bag_settlements",
        "finance/merchant_balances",
        "finance/order_payments",
        "finance/exception_log",
    } <= materialized
    finance_checks = {c.check_name: c.passed for c in checks if c is not None}
    assert finance_checks["parts_add_up"] is True
    assert finance_checks["order_total_equals_bag_totals"] is True
    queue = next(
        m
        for m in result.asset_materializations_for_node("finance_marts")
        if m.asset_key == dg.AssetKey(["finance", "exceptions"])
    )
    by_kind = queue.metadata["open_by_kind"].value
    assert isinstance(by_kind, str)
    assert "| TRANSFER_MISSING | USD |" in by_kind
    as_of = str(queue.metadata["as_of"].value)
    reports = data_dir / "reports" / as_of[:10]
    assert sorted(p.name for p in reports.iterdir()) == sorted(
        [f"{n}.{x}" for n in ("exceptions", "bag_settlements", "merchant_balances")
         for x in ("csv", "parquet")] + ["summary.md", "summary.html"]
    )  # fmt: skip
    with duckdb.connect() as reader:
        exported = reader.execute(
            "select count(*) from read_csv(?)", [str(reports / "exceptions.csv")]
        ).fetchone()
        # Exports are in bag / merchant order (the tables are stored that way).
        for name, key in (("bag_settlements", "bag_id"), ("merchant_balances", "merchant_id")):
            for fmt in ("csv", "parquet"):
                keys = [
                    k
                    for (k,) in reader.execute(
                        f"select {key} from '{reports / f'{name}.{fmt}'}'"
                    ).fetchall()
                ]
                assert len(keys) > 1
                assert keys == sorted(keys), f"{name}.{fmt}"
    assert exported == (queue.metadata["dagster/row_count"].value,)
    meta = result.asset_materializations_for_node("core_entities")
    orders = next(m for m in meta if m.asset_key == dg.AssetKey(["core", "orders"]))
    order_rows = orders.metadata["dagster/row_count"].value
    assert isinstance(order_rows, int)
    assert order_rows > 0
    with duckdb.connect(str(data_dir / "analytics.duckdb"), read_only=True) as snap:
        assert snap.execute("select count(*) from core.orders").fetchone() == (order_rows,)
        assert _catalog.missing(snap) == []
        described = snap.execute(
            "select count(*) from duckdb_columns() "
            "where schema_name in ('core', 'finance') and comment is null"
        ).fetchone()
        assert described == (0,)


def test_an_open_analyst_connection_never_blocks_a_run(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    files = staging_build.raw_files(world.raw_dir)
    copy_raw(world, data_dir, files[:2])
    assert run_job(data_dir, monkeypatch).success
    analyst = duckdb.connect(str(data_dir / "analytics.duckdb"), read_only=True)
    try:
        before = analyst.execute("select count(*) from staging.deliveries").fetchone()
        copy_raw(world, data_dir, files[2:])
        assert run_job(data_dir, monkeypatch).success
        # The analyst still reads the snapshot they opened...
        assert analyst.execute("select count(*) from staging.deliveries").fetchone() == before
    finally:
        analyst.close()
    # ...and a new connection sees the new one.
    with duckdb.connect(str(data_dir / "analytics.duckdb"), read_only=True) as fresh:
        after = fresh.execute("select count(*) from staging.deliveries").fetchone()
    assert after is not None
    assert before is not None
    assert after[0] > before[0]


def test_a_replaced_snapshot_is_retired_and_deleted_by_the_next_run(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    warehouse = Warehouse(data_dir=str(data_dir))
    files = staging_build.raw_files(world.raw_dir)
    published = data_dir / "analytics.duckdb"
    inodes = []
    for part in (files[:1], files[1:2], files[2:]):
        copy_raw(world, data_dir, part)
        assert run_job(data_dir, monkeypatch).success
        for thread in threading.enumerate():
            if thread.name == "reap-snapshots":
                thread.join(timeout=30)
        inodes.append(published.stat().st_ino)
        # Only the file the last publish replaced is kept (the one before it is deleted), and
        # it is that very file, not a copy.
        assert [p.stat().st_ino for p in snapshot.retired(warehouse)] == inodes[-2:-1]
    # Each publish is a new file: never the one it replaced (still alive as the retired link).
    # (A file deleted earlier may hand its inode number on to a later one: not compared.)
    assert all(a != b for a, b in itertools.pairwise(inodes))
    with duckdb.connect(str(published), read_only=True) as snap:
        assert snap.execute("select count(*) from ops.loaded_files").fetchone() == (len(files),)


def test_sensor_requests_a_run_only_for_new_files(world: World, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    files = staging_build.raw_files(world.raw_dir)
    warehouse = Warehouse(data_dir=str(data_dir))
    today = layout.day_of_partition(files[0].split("/")[0])
    assert today is not None
    # The sensor looks at recent partitions only: pretend "now" is the world's day.
    monkey_now = dg.build_sensor_context(cursor=None, resources={"warehouse": warehouse})

    found, cursor = sensors.new_files(warehouse.raw_dir, None, sensors.parse_day(today))
    assert found == []
    copy_raw(world, data_dir, files[:1])
    found, cursor = sensors.new_files(warehouse.raw_dir, None, sensors.parse_day(today))
    assert found == files[:1]
    again, same = sensors.new_files(warehouse.raw_dir, cursor, sensors.parse_day(today))
    assert (again, same) == ([], cursor)
    copy_raw(world, data_dir, files[1:2])
    more, _ = sensors.new_files(warehouse.raw_dir, cursor, sensors.parse_day(today))
    assert more == files[1:2]
    # Through Dagster: the real sensor with a real context (its clock is now, so copy a file
    # into today's partition).
    now_part = layout.partition_dir(layout.raw_dir(data_dir), sensors.today())
    now_part.mkdir(parents=True, exist_ok=True)
    shutil.copy2(world.raw_dir / files[0], now_part / layout.file_name("now", 1))
    result = raw_files_sensor(monkey_now)
    assert isinstance(result, dg.SensorResult)
    assert len(result.run_requests or []) == 1
    ctx = dg.build_sensor_context(cursor=result.cursor, resources={"warehouse": warehouse})
    quiet = raw_files_sensor(ctx)
    assert isinstance(quiet, dg.SensorResult)
    assert not quiet.run_requests


def test_cli_materialize_records_the_run_and_fails_on_a_broken_key(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    copy_raw(world, data_dir)
    env = {**os.environ, "VIOLET_DATA_DIR": str(data_dir)}
    cmd = [sys.executable, "-m", "pipelines", "materialize"]
    ok = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stdout[-2000:] + ok.stderr[-2000:]
    assert "succeeded" in ok.stdout
    assert (data_dir / "dagster_home" / "dagster.yaml").exists()
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        con.execute("insert into core.orders select * from core.orders limit 1")
    published = (data_dir / "analytics.duckdb").stat().st_mtime_ns
    bad = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1
    assert "core/orders:id_unique_not_null" in bad.stdout
    # A failed blocking check keeps the broken data from being published.
    assert (data_dir / "analytics.duckdb").stat().st_mtime_ns == published
    monkeypatch.setenv("DAGSTER_HOME", str(data_dir / "dagster_home"))
    runs = dg.DagsterInstance.get()
    try:
        assert len(runs.get_runs()) == 2
    finally:
        runs.dispose()
