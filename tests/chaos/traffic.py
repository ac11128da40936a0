"""Violet-like senders and what they prove: every acknowledged attempt is in raw, once.

Every HTTP attempt carries its own `X-Chaos-Attempt` header (kept in the raw record's
`headers`), so an acknowledgement can be followed to the exact row it produced: a 2xx must
give exactly one raw row with the same bytes; an attempt that got no 2xx may have been stored
(the service died after the fsync, before its answer) but at most once; a row no attempt
explains, or a row of a bad signature, is a fault.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import httpx
import pyarrow.dataset as ds

from pipelines.core import build as core_build
from pipelines.finance.build import build_finance, queue
from pipelines.ops import build as ops_build
from pipelines.resources import FinanceSettings
from pipelines.staging import build as staging_build
from simulator.deliveries import Delivery
from tests.pipelines.test_truth import COMPARED
from warehouse_files import layout

ATTEMPT = "X-Chaos-Attempt"
PAD = "X-Chaos-Pad"


@dataclass
class Ledger:
    """What the senders did: every attempt's body, whether it was signed right, its answer."""

    bodies: dict[str, bytes] = field(default_factory=dict)
    genuine: dict[str, bool] = field(default_factory=dict)
    acked: set[str] = field(default_factory=set)
    statuses: Counter[str] = field(default_factory=Counter)
    deliveries: int = 0  # deliveries (not attempts) of the stream
    delivered: int = 0  # genuine deliveries acknowledged
    undelivered: int = 0  # genuine deliveries never acknowledged before the deadline
    bad_signature_acked: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def attempt(self, body: bytes, genuine: bool) -> str:
        aid = f"a{len(self.bodies):07d}"
        self.bodies[aid] = body
        self.genuine[aid] = genuine
        return aid


async def send_like_violet(
    deliveries: Sequence[Delivery],
    url: str,
    ledger: Ledger,
    *,
    concurrency: int = 16,
    rate: float | None = None,
    deadline_s: float = 120.0,
    pad_bytes: int = 0,
    seed: int = 0,
    unthrottle: threading.Event | None = None,
) -> None:
    """POST each delivery until it is answered 2xx (genuine) or 401 (bad signature), resending
    the same event (same X-Violet-Event-Id and body) after a back-off otherwise; stop at the
    deadline. `rate` caps new deliveries per second over all workers (time the service is down
    is not made up for) until `unthrottle` is set."""
    rng = random.Random(seed)
    pad = "p" * pad_bytes
    ledger.deliveries += len(deliveries)
    source = iter(deliveries)
    started = time.monotonic()
    stop_at = started + deadline_s
    next_at = started

    async def one(client: httpx.AsyncClient, d: Delivery) -> None:
        genuine = d.stored
        attempt = 0
        while time.monotonic() < stop_at:
            attempt += 1
            aid = ledger.attempt(d.body, genuine)
            headers = [*d.headers, (ATTEMPT, aid)]
            if pad:
                headers.append((PAD, pad))
            status: int | None = None
            t0 = time.perf_counter()
            try:
                r = await client.post(url, content=d.body, headers=headers)
                status = r.status_code
            except httpx.TransportError:
                pass
            ledger.statuses[str(status) if status is not None else "error"] += 1
            if status is not None and 200 <= status < 300:
                ledger.acked.add(aid)
                if genuine:
                    ledger.latencies_ms.append((time.perf_counter() - t0) * 1000)
                    ledger.delivered += 1
                else:
                    ledger.bad_signature_acked += 1
                return
            if not genuine and status is not None and 400 <= status < 500:
                return
            await asyncio.sleep(min(1.0, 0.05 * 2 ** min(attempt, 5)) * (0.5 + rng.random()))
        if genuine:
            ledger.undelivered += 1

    async def worker() -> None:
        nonlocal next_at
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(timeout=10, limits=limits) as client:
            for d in source:
                if rate and not (unthrottle is not None and unthrottle.is_set()):
                    next_at = max(next_at, time.monotonic()) + 1 / rate
                    if (wait := next_at - time.monotonic()) > 0:
                        await asyncio.sleep(wait)
                await one(client, d)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


@dataclass
class RawCheck:
    rows: int = 0
    acked: int = 0
    stored_acked: int = 0
    stored_unacked: int = 0  # stored, answered otherwise (died after fsync): allowed, once
    lost: list[str] = field(default_factory=list)  # acknowledged, not in raw
    duplicated: list[str] = field(default_factory=list)  # one attempt, several rows
    invented: int = 0  # rows no attempt explains
    unverified: list[str] = field(default_factory=list)  # rows of a bad signature
    wrong_bytes: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)  # log segments / temp files left

    def problems(self) -> list[str]:
        out = []
        if self.lost:
            out.append(
                f"{len(self.lost)} of {self.acked} acknowledged attempts lost: {self.lost[:5]}"
            )
        if self.duplicated:
            out.append(
                f"{len(self.duplicated)} attempts stored more than once: {self.duplicated[:5]}"
            )
        if self.invented:
            out.append(f"{self.invented} raw rows no attempt explains")
        if self.unverified:
            out.append(
                f"{len(self.unverified)} bad-signature attempts stored: {self.unverified[:5]}"
            )
        if self.wrong_bytes:
            out.append(f"{len(self.wrong_bytes)} rows whose body differs: {self.wrong_bytes[:5]}")
        if self.leftovers:
            out.append(f"left behind after a clean stop: {self.leftovers[:5]}")
        return out


def check_raw(data_dir: Path, ledger: Ledger) -> RawCheck:
    """Compare the raw Parquet store with what the senders were told."""
    files = sorted(layout.raw_dir(data_dir).rglob("*.parquet"))
    result = RawCheck(acked=len(ledger.acked))
    seen: Counter[str] = Counter()
    if files:
        table = ds.dataset([str(f) for f in files], format="parquet").to_table(
            columns=["headers", "body", "body_sha256"]
        )
        result.rows = table.num_rows
        import hashlib

        for headers, body, sha in zip(
            table.column("headers").to_pylist(),
            table.column("body").to_pylist(),
            table.column("body_sha256").to_pylist(),
            strict=True,
        ):
            aid = json.loads(headers).get(ATTEMPT.lower())
            if aid is None or aid not in ledger.bodies:
                result.invented += 1
                continue
            seen[aid] += 1
            if not ledger.genuine[aid]:
                result.unverified.append(aid)
            if body != ledger.bodies[aid] or sha != hashlib.sha256(body).hexdigest():
                result.wrong_bytes.append(aid)
    result.duplicated = sorted(a for a, n in seen.items() if n > 1)
    result.lost = sorted(a for a in ledger.acked if a not in seen)
    result.stored_acked = sum(1 for a in ledger.acked if a in seen)
    result.stored_unacked = sum(1 for a in seen if a not in ledger.acked)
    result.leftovers = [
        str(p.relative_to(data_dir))
        for root, pattern in ((layout.wal_dir, "**/*.wal"), (layout.raw_dir, layout.TEMP_GLOB))
        for p in root(data_dir).glob(pattern)
    ]
    return result


def build_warehouse(raw_dir: Path, database: Path, as_of: str) -> None:
    """Everything a run builds, by the functions the assets call (staging, core, ops, finance
    looking from `as_of`: the end of the world's span, which its truth describes)."""
    with duckdb.connect(str(database)) as con:
        staging_build.load_all(con, raw_dir)
        core_build.build_core(con)
        ops_build.build_ops(con)
        build_finance(con, FinanceSettings(as_of=as_of))


def compare_with_truth(database: Path, truth_dir: Path) -> list[str]:
    """Core's current state, the logical events and finance's queue against the simulator's
    truth (tests/pipelines/test_truth.py compares the same way)."""
    problems = []
    summary = json.loads((truth_dir / "summary.json").read_text())
    with duckdb.connect(str(database), read_only=True) as con:
        for table, (id_col, cols) in COMPARED.items():
            truth = str(truth_dir / f"{table}.parquet")
            select = ", ".join(cols)
            diff = con.execute(
                f"select count(*) from ((select id, {select} from core.{table} "
                f"except select {id_col}, {select} from read_parquet(?)) union all "
                f"(select {id_col}, {select} from read_parquet(?) "
                f"except select id, {select} from core.{table}))",
                [truth, truth],
            ).fetchone()
            if diff and diff[0]:
                problems.append(f"core.{table}: {diff[0]} rows differ from the truth")
        events = con.execute("select count(*) from staging.events").fetchone()
        if events != (summary["logical_events"],):
            problems.append(f"staging.events {events} != truth {summary['logical_events']}")
        found = queue(con)
        expected = queue(con, "read_parquet(?)", [str(truth_dir / "exceptions.parquet")])
        if found != expected:
            problems.append(
                f"finance.exceptions: {sum((expected - found).values())} missing, "
                f"{sum((found - expected).values())} extra against the truth"
            )
    return problems
