"""Pipeline crashes: kill -9 of `python -m pipelines materialize` inside each step.

The moment comes from the run's own event log (Dagster's SQLite file for the run under
`dagster_home/history/runs/`, read-only): a step has started and not finished. After each kill
the published `analytics.duckdb` must still be the last good one (same bytes, opens, same
content); once every step has been killed, the next run must complete (within a timeout: a run
waiting forever for a pool slot of a dead run is a failure, not a hang) and the warehouse and
its snapshot must equal a clean rebuild of the same raw files.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.staging import build as staging_build
from simulator.options import Options
from tests.chaos.service import IN_CREATE, Inotify
from tests.chaos.traffic import build_warehouse
from tests.pipelines.conftest import end_of, make_world
from warehouse_files import layout

ROOT = Path(__file__).resolve().parents[2]
# The steps -> the Dagster step (op) that does it.
STEPS = {
    "staging": "staging_load",
    "core": "core_entities",
    "checks": "core_integrity",
    "finance": "finance_marts",
    "ops": "ops_health",
    "publish": "analytics_snapshot",
}
# Columns that record when or by which run a row was loaded, not what it says.
LOAD_COLUMNS = {"batch_id", "loaded_at", "run_id", "updated_at"}
# finance.exception_log (every exception any run saw, and when) and the first-seen and ages in
# finance.exceptions are run history, not content: the clean rebuild has had one run.
RUN_HISTORY_COLUMNS = {"first_seen_at", "last_seen_at", "age_days", "resolved_at"}


@dataclass
class Kill:
    step: str
    attempt: int
    killed_in_step: bool
    after_s: float  # from the run's start
    snapshot_intact: bool
    note: str = ""


@dataclass
class PipelineResult:
    kills: list[Kill] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    baseline_run_s: float = 0.0
    final_run_s: float | None = None
    seconds: float = 0.0


def _run_dbs(data_dir: Path) -> set[Path]:
    runs = data_dir / "dagster_home" / "history" / "runs"
    return {p for p in runs.glob("*.db") if p.name != "index.db"} if runs.is_dir() else set()


def _steps(db: Path) -> tuple[set[str], set[str]]:
    """(steps started, steps finished) in the run's event log, read without locking it."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            rows = con.execute(
                "select dagster_event_type, step_key from event_logs where dagster_event_type "
                "in ('STEP_START', 'STEP_SUCCESS', 'STEP_FAILURE')"
            ).fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return set(), set()
    started = {k for t, k in rows if t == "STEP_START"}
    done = {k for t, k in rows if t != "STEP_START"}
    return started, done


def materialize(data_dir: Path, log: Path, as_of: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIOLET_", "DAGSTER_"))}
    env["VIOLET_DATA_DIR"] = str(data_dir)
    env["VIOLET_FINANCE_AS_OF"] = as_of  # the clean rebuild's, so that the two can be compared
    with open(log, "ab") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "pipelines", "materialize"],
            cwd=ROOT,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def content(path: Path) -> dict[str, tuple[int, str]]:
    """Every table of a DuckDB file: row count and an order-free checksum of its rows."""
    out: dict[str, tuple[int, str]] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for schema, table in con.execute(
            "select schema_name, table_name from duckdb_tables() order by all"
        ).fetchall():
            row = con.execute(
                f'select count(*), coalesce(sum(hash(t)), 0)::varchar from "{schema}"."{table}" t'
            ).fetchone()
            assert row is not None
            out[f"{schema}.{table}"] = (int(row[0]), str(row[1]))
    return out


def differences(a: Path, b: Path) -> dict[str, int]:
    """Rows in one warehouse and not the other, per table (load bookkeeping and run history
    aside: ops.model_state, finance.exception_log and finance.queue_history, one row per run;
    finance.exceptions by its queue key, its ages and first-seen being run history)."""
    out: dict[str, int] = {}
    with duckdb.connect(str(a), read_only=True) as con:
        con.execute("attach ? as other (read_only)", [str(b)])
        first = con.execute("select current_database()").fetchone()
        assert first is not None
        mine = con.execute(
            "select schema_name || '.' || table_name from duckdb_tables() where database_name "
            "= ? and schema_name in ('staging', 'core', 'ops', 'finance') "
            "and table_name not in ('model_state', 'exception_log', 'queue_history') order by all",
            [first[0]],
        ).fetchall()
        theirs = con.execute(
            "select schema_name || '.' || table_name from duckdb_tables() where database_name "
            "= 'other' and schema_name in ('staging', 'core', 'ops', 'finance') "
            "and table_name not in ('model_state', 'exception_log', 'queue_history') order by all"
        ).fetchall()
        if mine != theirs:
            out["(tables)"] = len(set(mine) ^ set(theirs))
        for (table,) in mine:
            cols = [
                c
                for (c,) in con.execute(
                    "select column_name from duckdb_columns() where database_name = ? "
                    "and schema_name || '.' || table_name = ? order by column_index",
                    [first[0], table],
                ).fetchall()
                if c not in LOAD_COLUMNS
                and not (table == "finance.exceptions" and c in RUN_HISTORY_COLUMNS)
            ]
            select = ", ".join(f'"{c}"' for c in cols)
            n = con.execute(
                f'select count(*) from ((select {select} from "{first[0]}".{table} '
                f"except all select {select} from other.{table}) union all "
                f"(select {select} from other.{table} "
                f'except all select {select} from "{first[0]}".{table}))'
            ).fetchone()
            if n and n[0]:
                out[table] = int(n[0])
    return out


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def kill_in_step(
    data_dir: Path,
    step: str,
    log: Path,
    rng: random.Random,
    wait_s: float,
    attempt: int,
    as_of: str,
) -> tuple[Kill | None, str | None]:
    """Start a run and kill -9 it inside `step`. Returns the kill, or a problem."""
    op = STEPS[step]
    before = _run_dbs(data_dir)
    ino: Inotify | None = None
    if step == "publish" and attempt == 1:
        # The publish step is short: the moment is its temp copy appearing.
        ino = Inotify()
        ino.watch(data_dir, IN_CREATE)
    started = time.monotonic()
    proc = materialize(data_dir, log, as_of)
    db: Path | None = None
    delay = rng.uniform(0.0, 0.4) if attempt == 1 and step in ("staging", "core") else 0.0
    try:
        while True:
            elapsed = time.monotonic() - started
            if proc.poll() is not None:
                return None, f"{step}: the run ended (exit {proc.returncode}) before the kill"
            if elapsed > wait_s:
                return None, (
                    f"{step}: step {op} had not started {wait_s:.0f} s after the run began "
                    "(waiting for a pool slot of a killed run?)"
                )
            if db is None:
                new = _run_dbs(data_dir) - before
                db = next(iter(new)) if new else None
            if ino is not None:
                if any(e.name == "analytics.duckdb.tmp" for e in ino.events(0.005)):
                    _kill_group(proc)
                    assert db is not None
                    begun, finished = _steps(db)
                    return Kill(step, attempt, op not in finished, elapsed, False, "mid-copy"), None
                continue
            if db is not None:
                begun, finished = _steps(db)
                if op in begun and op not in finished:
                    time.sleep(delay)
                    _kill_group(proc)
                    begun, finished = _steps(db)
                    return Kill(step, attempt, op not in finished, elapsed + delay, False), None
            time.sleep(0.005)
    finally:
        if proc.poll() is None:
            _kill_group(proc)
        if ino is not None:
            ino.close()


def pipeline_kills(
    workdir: Path,
    options: Options,
    *,
    rounds: int = 1,
    seed: int = 1,
    wait_s: float = 60.0,
    final_timeout_s: float = 120.0,
) -> PipelineResult:
    started = time.monotonic()
    result = PipelineResult()
    rng = random.Random(seed)
    world = make_world(workdir / "world", options, segment_records=1500)
    data_dir = workdir / "data"
    files = staging_build.raw_files(world.raw_dir)
    half = len(files) // 2

    def copy(names: list[str]) -> None:
        for name in names:
            target = layout.raw_dir(data_dir) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(world.raw_dir / name, target)

    log = workdir / "materialize.log"
    copy(files[:half])
    t0 = time.monotonic()
    code = materialize(data_dir, log, end_of(options)).wait(timeout=final_timeout_s)
    result.baseline_run_s = time.monotonic() - t0
    if code != 0:
        result.problems.append(f"the first run failed (exit {code}): {log.read_text()[-2000:]}")
        return result
    snapshot = data_dir / "analytics.duckdb"
    good_digest, good_content = digest(snapshot), content(snapshot)
    copy(files[half:])

    hung = False
    for _ in range(rounds):
        for step in STEPS:
            for attempt in (1, 2, 3):
                kill, problem = kill_in_step(
                    data_dir, step, log, rng, wait_s, attempt, end_of(options)
                )
                if problem is not None:
                    result.problems.append(problem)
                    hung = "had not started" in problem
                    break
                assert kill is not None
                published = snapshot.exists() and digest(snapshot) != good_digest
                try:
                    now = content(snapshot)
                except duckdb.Error as exc:
                    now = {}
                    kill.note = f"snapshot unreadable: {exc}"
                if not published:
                    kill.snapshot_intact = now == good_content
                else:
                    # Killed after the rename: the new snapshot is whole and it is the new
                    # good one (a publish happens only after the blocking checks passed).
                    kill.snapshot_intact = step == "publish" and bool(now)
                    kill.note = "the publish completed before the kill"
                    if kill.snapshot_intact:
                        good_digest, good_content = digest(snapshot), now
                result.kills.append(kill)
                if not kill.snapshot_intact:
                    result.problems.append(f"{step}: the snapshot changed or broke ({kill.note})")
                if kill.killed_in_step:
                    break
            if hung:
                break
        if hung:
            break
    missed = {k.step for k in result.kills if k.killed_in_step} ^ set(STEPS)
    if missed and not hung:
        result.problems.append(f"never killed inside: {sorted(missed)}")
    if hung:
        result.problems.append("the run after a kill was not attempted: an earlier one hung")
        result.seconds = time.monotonic() - started
        return result

    t0 = time.monotonic()
    proc = materialize(data_dir, log, end_of(options))
    try:
        code = proc.wait(timeout=final_timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        result.problems.append(f"the run after the kills did not finish in {final_timeout_s:.0f} s")
        result.seconds = time.monotonic() - started
        return result
    result.final_run_s = time.monotonic() - t0
    if code != 0:
        result.problems.append(f"the run after the kills failed (exit {code})")
    clean = workdir / "clean.duckdb"
    build_warehouse(world.raw_dir, clean, end_of(options))
    for name, path in (("warehouse", data_dir / "warehouse.duckdb"), ("snapshot", snapshot)):
        diff = differences(path, clean)
        if diff:
            result.problems.append(f"the {name} differs from a clean rebuild: {diff}")
    result.seconds = time.monotonic() - started
    return result
