"""`write`: the stored deliveries sealed straight into the raw layout, as the service would.

Every delivery the service would accept (all but the bad signatures) becomes one raw record:
id columns and headers JSON from `ingest.records.header_fields` over the exact headers `send`
puts on the wire (lower-cased, as an HTTP/1.1 server hands them over), `received_at` = the
simulated delivery time, `sequence` counting from 1 in delivery-time order, instance
`simulator-<seed>`. Records are sealed by `ingest.sealer.seal` in segments of about
`segment_records` consecutive records, numbered from 1; each segment gives one file per UTC
receive date. Writing the same world again rewrites the same files.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ingest.records import RawRecord
from ingest.sealer import seal
from simulator import stream
from simulator.options import Options
from warehouse_files import layout

SEGMENT_RECORDS = 200_000
DEFAULT_SECRET_ID = "primary"  # noqa: S105 (the service's label for VIOLET_APP_SECRET)


def raw_dir_of(data_dir: Path) -> Path:
    return layout.raw_dir(data_dir)


def instance_of(options: Options) -> str:
    return f"simulator-{options.seed}"


@dataclass
class WriteSummary:
    records: int = 0
    segments: int = 0
    files: list[Path] = field(default_factory=list)
    generate_s: float = 0.0
    seal_s: float = 0.0

    @property
    def elapsed_s(self) -> float:
        return self.generate_s + self.seal_s


class _Segment(NamedTuple):
    """Records received in `[lo_us, hi_us)`, numbered from `first_sequence`."""

    segment: int
    lo_us: int | None
    hi_us: int | None
    first_sequence: int
    spills: list[stream.Spill]
    raw_dir: Path
    instance: str
    secret_id: str


def _plan_segments(
    spills: list[stream.Spill], segment_records: int
) -> list[tuple[int | None, int | None, int]]:
    """Cut the stream at receive times so that segments hold about `segment_records` each.

    Returns `(lo_us, hi_us, first_sequence)` per segment. Records received in the same
    microsecond stay together (a cut moves back to the first of them), so sizes may differ
    from the target by those few. One pass over the merged receive times.
    """
    bounds: list[tuple[int, int]] = []  # (cut_us, records before it)
    run_value, run_start, n = None, 0, 0
    for n, us in enumerate(heapq.merge(*(sp.received_us for sp in spills))):
        if us != run_value:
            run_value, run_start = us, n
        if n and n % segment_records == 0 and (not bounds or us > bounds[-1][0]):
            bounds.append((us, run_start))
    if run_value is None:
        return []
    los: list[tuple[int | None, int]] = [(None, 0), *bounds]
    his: list[int | None] = [cut for cut, _ in bounds]
    his.append(None)
    return [(lo, hi, before + 1) for (lo, before), hi in zip(los, his, strict=True)]


def _seal_segment(task: _Segment) -> tuple[int, list[Path]]:
    """Merge one segment's records out of the spills and seal them (runs in a worker)."""
    records = [
        RawRecord(
            item[3],
            item[4],
            item[5],
            item[6],
            item[7],
            item[8],
            item[9],
            item[10],
            task.secret_id,
            item[0],
            task.first_sequence + n,
        )
        for n, item in enumerate(stream.read_range(task.spills, task.lo_us, task.hi_us))
    ]
    return len(records), seal(records, task.raw_dir, task.instance, task.segment)


def write_raw(
    options: Options,
    data_dir: Path,
    *,
    secret: str,
    secret_id: str = DEFAULT_SECRET_ID,
    segment_records: int = SEGMENT_RECORDS,
    workers: int | None = None,
    tmp_dir: Path | None = None,
) -> WriteSummary:
    """Seal the stored deliveries of `options`' world under `data_dir/raw/violet`.

    The stream is spilled under `tmp_dir` while it is generated (default: `data_dir`, which
    must hold the output anyway; the spill is several times the size of the output).
    """
    if segment_records < 1:
        raise ValueError("segment_records must be at least 1")
    summary = WriteSummary()
    started = time.perf_counter()
    with stream.generate(
        options,
        secret=secret,
        form=stream.WRITE,
        workers=workers,
        tmp_dir=data_dir if tmp_dir is None else tmp_dir,
    ) as world:
        summary.generate_s = time.perf_counter() - started
        started = time.perf_counter()
        tasks = [
            _Segment(
                n,
                lo,
                hi,
                first,
                world.spills,
                raw_dir_of(data_dir),
                instance_of(options),
                secret_id,
            )
            for n, (lo, hi, first) in enumerate(_plan_segments(world.spills, segment_records), 1)
        ]
        # Segments are independent: the world's worker processes seal them side by side.
        results = world.pool.map(_seal_segment, tasks) if world.pool else map(_seal_segment, tasks)
        for count, files in results:
            summary.records += count
            summary.segments += 1
            summary.files.extend(files)
        summary.seal_s = time.perf_counter() - started
    if summary.records != world.counts.stored:
        raise RuntimeError(f"sealed {summary.records} records of {world.counts.stored} stored")
    return summary
