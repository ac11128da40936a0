"""A run killed mid-step (kill -9) must not hold the warehouse pool for the runs after it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from pipelines import _stale_runs as stale_runs
from pipelines import sensors

from .conftest import World
from .test_dagster import copy_raw

ROOT = Path(__file__).resolve().parents[2]


def materialize(data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines", "materialize"],
        cwd=ROOT,
        env={**os.environ, "VIOLET_DATA_DIR": str(data_dir)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def kill_while_holding_the_pool(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Start a headless run, kill -9 it once one of its steps holds the pool; its run id."""
    proc = materialize(data_dir)
    home = data_dir / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    deadline = time.monotonic() + 120
    holder = None
    while holder is None and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        # Open the instance only once the run has its own event database: by then the run
        # process has created every table (opening earlier races its schema creation).
        runs = home / "history" / "runs"
        if not any(p.name != "index.db" for p in runs.glob("*.db")):
            continue
        with dg.DagsterInstance.get() as instance:
            slots = instance.event_log_storage.get_concurrency_info(stale_runs.POOL).claimed_slots
            holder = slots[0].run_id if slots else None
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.stdout is not None
    proc.stdout.close()
    assert holder is not None, "the run never held the pool (or ended first)"
    return holder


def test_a_killed_run_is_ended_and_frees_the_pool_for_the_next(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    copy_raw(world, data_dir)
    dead = kill_while_holding_the_pool(data_dir, monkeypatch)
    with dg.DagsterInstance.get() as instance:
        found = stale_runs.find(instance)
        assert [(r.run_id, r.status) for r in found] == [(dead, "STARTED")]
        assert "process gone" in found[0].reason
    # The next headless run frees it and completes (without the sweep it waits forever).
    proc = materialize(data_dir)
    try:
        out, _ = proc.communicate(timeout=150)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("the run after a killed one never completed: the pool stayed claimed")
    assert proc.returncode == 0, out
    assert f"freed stale run {dead}" in out
    with dg.DagsterInstance.get() as instance:
        record = instance.get_run_record_by_id(dead)
        assert record is not None
        assert record.dagster_run.status == dg.DagsterRunStatus.FAILURE
        assert stale_runs.find(instance) == []
        info = instance.event_log_storage.get_concurrency_info(stale_runs.POOL)
        assert info.claimed_slots == []


def test_the_sensor_frees_a_dead_runs_slot_and_the_cli_lists_it(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    copy_raw(world, data_dir)
    dead = kill_while_holding_the_pool(data_dir, monkeypatch)
    env = {**os.environ, "VIOLET_DATA_DIR": str(data_dir)}
    listed = subprocess.run(
        [sys.executable, "-m", "pipelines", "runs"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert f"stale run {dead}: STARTED, process gone" in listed.stdout
    from pipelines.resources import Warehouse

    with dg.DagsterInstance.get() as instance:
        context = dg.build_sensor_context(
            instance=instance,
            cursor=None,
            resources={"warehouse": Warehouse(data_dir=str(data_dir))},
        )
        sensors.raw_files_sensor(context)
        assert instance.event_log_storage.get_concurrency_info(stale_runs.POOL).claimed_slots == []
        record = instance.get_run_record_by_id(dead)
        assert record is not None
        assert record.dagster_run.status == dg.DagsterRunStatus.FAILURE
    listed = subprocess.run(
        [sys.executable, "-m", "pipelines", "runs"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert "no stale runs" in listed.stdout


def test_a_live_process_is_alive_and_a_reused_pid_is_not() -> None:
    me = os.getpid()
    assert stale_runs.alive(me, time.time())
    # A run that began before this process started cannot have been run by it.
    assert not stale_runs.alive(me, time.time() - 10 * 24 * 3600)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not stale_runs.alive(proc.pid, None)
