"""Benchmark: the whole pipeline on a large simulated world, against a bare DuckDB scan.

    python -m bench.pipeline [--deliveries 1000000] [--keep DIR]

1. The simulator writes a world of about --deliveries stored deliveries straight into raw
   Parquet, 10,000 deliveries per file (not timed).
2. Baseline: a bare DuckDB scan of the same files (count rows, sum body bytes).
3. Full build: `python -m pipelines materialize` (every asset, checks, snapshot) over all files
   but the newest, in a child process whose peak RSS is read from the kernel.
4. Incremental: the newest 10,000 deliveries arrive (the newest files, and the newest rows of
   the file before them as a file of their own); the same command runs again.
Targets (issue 4): full build <= 60 s, incremental <= 10 s, peak memory <= 3 GB.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from bench.ingest import machine
from warehouse_files import layout

ROOT = Path(__file__).resolve().parent.parent
DELIVERIES_PER_ORDER = 13.2  # measured on the simulator's default rates
FILE_RECORDS = 10_000
INCREMENT = 10_000
TARGETS = {"full_s": 60.0, "incremental_s": 10.0, "peak_gib": 3.0}


def run_materialize(data_dir: Path, as_of: str) -> tuple[float, float]:
    """(seconds, peak RSS GiB) of one `python -m pipelines materialize` child, finance looking
    from `as_of` (the world's end, as before the wall clock became the default)."""
    env = {**os.environ, "VIOLET_DATA_DIR": str(data_dir), "VIOLET_FINANCE_AS_OF": as_of}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", "materialize"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"materialize failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far: good enough when it only grows.
    return seconds, max(peak_kib, before) / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    from simulator import clock
    from simulator.options import Options
    from simulator.write import write_raw

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    data_dir = work / "data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    orders = max(10, round(args.deliveries / DELIVERIES_PER_ORDER))
    started = time.perf_counter()
    options = Options(seed=args.seed, orders=orders)
    as_of = clock.iso(options.as_of_s)
    written = write_raw(
        options,
        data_dir,
        secret="bench-secret",
        segment_records=FILE_RECORDS,
    )
    write_s = time.perf_counter() - started
    raw = layout.raw_dir(data_dir)
    # Oldest first: segments are numbered in order of arrival, and a segment that spans
    # midnight has a file in each day's partition.
    files = sorted(raw.glob(layout.RAW_GLOB), key=lambda p: (p.name, p.parent.name))
    held_back = hold_back_newest(files, INCREMENT)
    kept = [f for f in files if f not in held_back]
    held = work / "held-back"
    held.mkdir(exist_ok=True)
    for f in held_back:
        shutil.move(f, held / f"{f.parent.name}__{f.name}")
    print(f"world: {written.records:,} deliveries in {len(files)} files ({write_s:.1f} s to write)")

    with duckdb.connect() as con:
        started = time.perf_counter()
        rows, body_bytes = con.execute(
            "select count(*), sum(octet_length(body)) from read_parquet(?)",
            [[str(f) for f in kept]],
        ).fetchone() or (0, 0)
        scan_s = time.perf_counter() - started
    mib = body_bytes / 2**20
    print(
        f"baseline: bare DuckDB scan of {rows:,} rows ({mib:.0f} MiB of bodies) in {scan_s:.2f} s"
    )

    full_s, full_peak = run_materialize(data_dir, as_of)
    full_steps = step_times(data_dir)
    full_rows = int(rows)
    print(f"full build: {full_rows:,} deliveries in {full_s:.1f} s "
          f"({full_rows / full_s:,.0f}/s), peak RSS {full_peak:.2f} GiB;"
          f" steps: {full_steps}")  # fmt: skip

    for f in held_back:
        shutil.move(held / f"{f.parent.name}__{f.name}", f)
    inc_rows = sum(_rows(f) for f in held_back)
    inc_s, inc_peak = run_materialize(data_dir, as_of)
    inc_steps = step_times(data_dir)
    print(f"incremental: {inc_rows:,} new deliveries in {inc_s:.1f} s, peak RSS {inc_peak:.2f} GiB;"
          f" steps: {inc_steps}")  # fmt: skip

    peak = max(full_peak, inc_peak)
    met = {
        "full": full_s <= TARGETS["full_s"],
        "incremental": inc_s <= TARGETS["incremental_s"],
        "memory": peak <= TARGETS["peak_gib"],
    }
    verdict = ", ".join(f"{k} {'MET' if v else 'NOT MET'}" for k, v in met.items())
    print(verdict)
    if not args.no_record:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        with args.results.open("a") as fh:
            fh.write(
                f"\n### pipeline, {stamp}\n"
                f"- machine: {machine()}\n"
                f"- command: `make bench-pipeline` (`python -m bench.pipeline --deliveries"
                f" {args.deliveries}`)\n"
                f"- world: {written.records:,} deliveries ({orders:,} orders, seed {args.seed}) in"
                f" {len(files)} files of {FILE_RECORDS:,} (the newest {INCREMENT:,} held back)\n"
                f"- baseline, bare DuckDB scan of the same files: {scan_s:.2f} s\n"
                f"- full build (`python -m pipelines materialize`, all assets + checks + snapshot):"
                f" {full_rows:,} deliveries in {full_s:.1f} s = {full_rows / full_s:,.0f}"
                f" deliveries/s ({full_s / scan_s:.0f}x the scan); target <= 60 s\n"
                f"- incremental: {inc_rows:,} new deliveries in {inc_s:.1f} s; target <= 10 s\n"
                f"- peak RSS {peak:.2f} GiB; target <= 3 GB\n"
                f"- steps of the full build (Dagster run log): {full_steps}\n"
                f"- steps of the incremental run: {inc_steps}\n"
                f"- {verdict}\n"
            )
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(met.values()) else 1


def step_times(data_dir: Path) -> str:
    """Each step's duration in the newest run recorded in the data directory's Dagster
    instance (the rest of a run's time is process start and Dagster's own bookkeeping)."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(data_dir / "dagster_home")
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs(limit=1)
        if not runs:
            return "(no run)"
        steps = []
        for record in instance.all_logs(runs[0].run_id, of_type=dg.DagsterEventType.STEP_SUCCESS):
            if record.dagster_event is not None:
                seconds = record.dagster_event.step_success_data.duration_ms / 1000
                steps.append((record.step_key or "?", seconds))
    total = sum(seconds for _, seconds in steps)
    return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in steps) + (
        f" (sum {total:.1f} s)"
    )


def hold_back_newest(files: list[Path], count: int) -> list[Path]:
    """The files that hold exactly the newest `count` deliveries of `files` (oldest first): the
    newest whole files, and the newest rows of the file before them, split off into a file of
    their own (where a sealed segment ends is arbitrary anyway). At least one file stays."""
    import pyarrow.parquet as pq

    from ingest.sealer import write_parquet_atomic

    held: list[Path] = []
    rows = 0
    for path in reversed(files[1:]):
        if rows >= count:
            break
        n = _rows(path)
        if rows + n <= count:
            held.append(path)
            rows += n
            continue
        table = pq.read_table(path)  # rows in order of arrival
        keep = n - (count - rows)
        tail = path.with_name(f"{path.stem}-newest.parquet")
        write_parquet_atomic(table.slice(keep), tail)
        write_parquet_atomic(table.slice(0, keep), path)
        held.append(tail)
        rows = count
    return held


def _rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


if __name__ == "__main__":
    sys.exit(main())
