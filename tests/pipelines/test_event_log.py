"""The pooled SQLite event log: used by the instance we configure, same files as Dagster's own,
and a live watcher (the UI following a run) still sees every event as it is written."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from pipelines.event_log import OPEN_RUN_DATABASES, PooledSqliteEventLogStorage
from pipelines.headless import prepare_environment


def entry(run_id: str, message: str) -> dg.EventLogEntry:
    return dg.EventLogEntry(  # type: ignore[no-untyped-call]
        error_info=None,
        level="INFO",
        user_message=message,
        run_id=run_id,
        timestamp=time.time(),
        step_key=None,
        job_name=None,
        dagster_event=None,
    )


def test_the_written_instance_config_uses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIOLET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", "")
    prepare_environment()
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        # Where Dagster's default storage keeps the event log: history survives a switch.
        assert Path(storage._base_dir) == tmp_path / "data" / "dagster_home" / "history" / "runs"


def test_a_watcher_sees_each_event_as_it_is_written(tmp_path: Path) -> None:
    pooled = PooledSqliteEventLogStorage(str(tmp_path))
    stock = SqliteEventLogStorage(str(tmp_path))
    run_id = str(uuid.uuid4())
    seen: list[str] = []
    stock.watch(run_id, None, lambda event, _cursor: seen.append(event.user_message))
    try:
        for i in range(4):
            pooled.store_event(entry(run_id, f"event {i}"))
            deadline = time.monotonic() + 5
            while len(seen) <= i and time.monotonic() < deadline:
                time.sleep(0.02)
            assert seen == [f"event {j}" for j in range(i + 1)]
            if i == 0:
                time.sleep(1)  # let the notices of the file's creation pass
    finally:
        stock.dispose()
        pooled.dispose()


def test_runs_are_read_back_by_dagsters_own_storage_and_few_stay_open(tmp_path: Path) -> None:
    pooled = PooledSqliteEventLogStorage(str(tmp_path))
    run_ids = [str(uuid.uuid4()) for _ in range(3 * OPEN_RUN_DATABASES)]
    for run_id in run_ids:
        pooled.store_event(entry(run_id, f"hello from {run_id}"))
        pooled.store_event(entry(run_id, "second"))
    assert len(pooled._engines) <= OPEN_RUN_DATABASES + 1  # and the index
    stock = SqliteEventLogStorage(str(tmp_path))
    try:
        for run_id in run_ids:
            logs = stock.get_logs_for_run(run_id)
            assert [e.user_message for e in logs] == [f"hello from {run_id}", "second"]
        # ...and what the stock storage writes, the pooled one reads.
        stock.store_event(entry(run_ids[0], "third"))
        assert [e.user_message for e in pooled.get_logs_for_run(run_ids[0])][-1] == "third"
    finally:
        stock.dispose()
        pooled.dispose()
    assert not pooled._engines
