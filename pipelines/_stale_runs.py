"""Runs that died without ending, and the pool slots they hold.

A run whose process is killed (kill -9, an OOM kill, a power cut) never reports its end: Dagster
keeps it STARTED, and the step it was in keeps its slot of the `warehouse` pool (limit 1), so
every later run waits for that slot forever. Neither Dagster's default run launcher nor a
headless `execute_in_process` run can tell that the process is gone, so this module does: every
run records the pid of the process executing its steps (Dagster's own "Executing steps in
process (pid: N)" engine event); a run is dead when that process no longer exists (or the pid now
belongs to a process started after the run). Dead runs are reported failed, with the reason,
and their slots freed; a finished run still holding a slot is freed too.

Called at the start of every headless run (`python -m pipelines materialize`), on every tick
of the raw-files sensor (which the daemon runs), and by hand: `python -m pipelines runs` lists
the runs holding slots and the dead ones, `python -m pipelines runs --free` frees them.

The instance's storage is the SQLite files in the data directory, so every run of it executes
on this machine: a pid is this machine's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster._core.events import DagsterEventType
from dagster._core.storage.dagster_run import FINISHED_STATUSES, DagsterRunStatus, RunsFilter

POOL = "warehouse"
# Recent runs still marked STARTED are checked too (killed between two steps, they hold no
# slot but would show as running forever).
STARTED_RUNS_CHECKED = 50


@dataclass(frozen=True)
class StaleRun:
    run_id: str
    status: str
    reason: str
    slots: tuple[str, ...]  # steps holding a slot of the pool


def _pids(instance: dg.DagsterInstance, run_id: str) -> list[int]:
    """The processes that executed the run's steps (from its engine events)."""
    pids = []
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        data = entry.dagster_event.event_specific_data if entry.dagster_event else None
        metadata = getattr(data, "metadata", None) or {}
        value = metadata.get("pid")
        text = getattr(value, "text", value)
        if isinstance(text, str) and text.isdigit():
            pids.append(int(text))
        elif isinstance(text, int):
            pids.append(text)
    return pids


def _started_at(pid: int) -> float | None:
    """When process `pid` started (epoch seconds), from /proc; None when it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, StopIteration, ValueError):
        return None
    # Field 22 (starttime, clock ticks after boot) comes after the command name in parentheses.
    fields = stat.rsplit(")", 1)[1].split()
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def alive(pid: int, run_started: float | None) -> bool:
    """Whether `pid` is still the process that ran the run."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, another user's: cannot be ours to judge
    started = _started_at(pid)
    # A pid handed to a process started after the run began is not the run's.
    return started is None or run_started is None or started <= run_started + 1


def find(instance: dg.DagsterInstance) -> list[StaleRun]:
    """Runs that hold a slot of the pool but ended or died, and STARTED runs whose process died."""
    storage = instance.event_log_storage
    holding: dict[str, list[str]] = {}
    if storage.supports_global_concurrency_limits:
        info = storage.get_concurrency_info(POOL)
        for slot in info.claimed_slots:
            holding.setdefault(slot.run_id, []).append(slot.step_key)
        for step in info.pending_steps:
            holding.setdefault(step.run_id, [])
    started = instance.get_run_records(
        filters=RunsFilter(statuses=[DagsterRunStatus.STARTED]), limit=STARTED_RUNS_CHECKED
    )
    candidates = set(holding) | {r.dagster_run.run_id for r in started}
    stale = []
    for run_id in sorted(candidates):
        slots = tuple(holding.get(run_id, ()))
        record = instance.get_run_record_by_id(run_id)
        if record is None:
            stale.append(StaleRun(run_id, "UNKNOWN", "no such run in this instance", slots))
            continue
        status = record.dagster_run.status
        if status in FINISHED_STATUSES:
            if slots or run_id in holding:
                stale.append(StaleRun(run_id, status.value, "finished, still holding", slots))
            continue
        if status != DagsterRunStatus.STARTED:
            continue  # queued or starting: its process may not exist yet
        pids = _pids(instance, run_id)
        if pids and not any(alive(pid, record.start_time) for pid in pids):
            gone = ", ".join(str(p) for p in pids)
            stale.append(StaleRun(run_id, status.value, f"process gone (pid {gone})", slots))
    return stale


def free(instance: dg.DagsterInstance, stale: list[StaleRun]) -> None:
    """End the dead runs (reported failed, with the reason) and free every slot they hold."""
    for run in stale:
        record = instance.get_run_record_by_id(run.run_id)
        if record is not None and record.dagster_run.status not in FINISHED_STATUSES:
            instance.report_run_failed(
                record.dagster_run,
                message=f"violet-warehouse: run ended by the stale-run sweep: {run.reason}",
            )
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)


def sweep(instance: dg.DagsterInstance) -> list[StaleRun]:
    """Find and free; returns what was freed."""
    stale = find(instance)
    free(instance, stale)
    return stale
