"""A soak: steady signed traffic for minutes, sampling the service every few seconds. RSS, open
files, connections, the log backlog and latency must stay flat (only `make chaos` runs it)."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.chaos.service import Service, percentile
from tests.chaos.traffic import ATTEMPT, Ledger, RawCheck, check_raw
from tests.support import make_delivery


@dataclass
class Minute:
    minute: int
    acked: int
    p50_ms: float
    p99_ms: float
    rss_mb: float
    open_files: int
    connections: int
    backlog_records: float
    non_2xx: int


@dataclass
class SoakResult:
    minutes: list[Minute] = field(default_factory=list)
    raw: RawCheck = field(default_factory=RawCheck)
    problems: list[str] = field(default_factory=list)
    rate: float = 0.0


async def _traffic(
    url: str,
    ledger: Ledger,
    stop: threading.Event,
    rate: float,
    box: list[tuple[float, float, int]],
) -> None:
    """`rate` deliveries a second from 16 keep-alive clients; (time, ms, status) into box."""
    n = 0
    next_at = time.monotonic()

    async def worker(k: int) -> None:
        nonlocal n, next_at
        async with httpx.AsyncClient(timeout=10) as client:
            while not stop.is_set():
                next_at = max(next_at, time.monotonic()) + 1 / rate
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                n += 1
                d = make_delivery(
                    payload={"id": 10_000_000 + n, "status": "ACCEPTED", "k": k},
                    event_id=f"soak-{n}",
                )
                aid = ledger.attempt(d.body, True)
                t0 = time.perf_counter()
                try:
                    r = await client.post(url, content=d.body, headers={**d.headers, ATTEMPT: aid})
                    status = r.status_code
                except httpx.HTTPError:
                    status = 0
                if 200 <= status < 300:
                    ledger.acked.add(aid)
                box.append((time.monotonic(), (time.perf_counter() - t0) * 1000, status))

    await asyncio.gather(*(worker(k) for k in range(16)))


def soak(workdir: Path, minutes: int = 10, rate: float = 200.0) -> SoakResult:
    result = SoakResult(rate=rate)
    ledger = Ledger()
    service = Service(workdir / "data", env={"VIOLET_SEAL_INTERVAL_SECONDS": "30"})
    stop = threading.Event()
    box: list[tuple[float, float, int]] = []
    sender = threading.Thread(
        target=lambda: asyncio.run(_traffic(service.webhook, ledger, stop, rate, box)), daemon=True
    )
    try:
        service.launch()
        sender.start()
        started = time.monotonic()
        for m in range(1, minutes + 1):
            samples: list[tuple[float, int, int, float]] = []
            while time.monotonic() < started + 60 * m:
                time.sleep(5)
                samples.append(
                    (
                        service.rss_bytes() / 2**20,
                        service.open_files(),
                        service.connections(),
                        service.metric("violet_ingest_log_backlog_records") or 0.0,
                    )
                )
            window = [
                (lat, st) for t, lat, st in box if started + 60 * (m - 1) <= t < started + 60 * m
            ]
            lat = [x for x, st in window if 200 <= st < 300]
            result.minutes.append(
                Minute(
                    m,
                    len(lat),
                    percentile(lat, 50),
                    percentile(lat, 99),
                    max(s[0] for s in samples),
                    max(s[1] for s in samples),
                    max(s[2] for s in samples),
                    max(s[3] for s in samples),
                    sum(1 for _, st in window if not 200 <= st < 300),
                )
            )
        stop.set()
        sender.join(timeout=30)
        service.stop()
    finally:
        stop.set()
        service.ensure_dead()
    result.raw = check_raw(workdir / "data", ledger)
    result.problems += result.raw.problems()
    ms = result.minutes
    if len(ms) >= 3:
        first, last = ms[1], ms[-1]  # minute 1 includes start-up
        if last.rss_mb - first.rss_mb > 50:
            result.problems.append(f"RSS grew {first.rss_mb:.0f} -> {last.rss_mb:.0f} MB")
        if max(m.open_files for m in ms[1:]) - min(m.open_files for m in ms[1:]) > 16:
            result.problems.append("open files not flat: " + str([m.open_files for m in ms]))
        if max(m.backlog_records for m in ms) > rate * 30 * 2.5:
            result.problems.append(
                "log backlog not bounded: " + str([m.backlog_records for m in ms])
            )
        # A trend, not one noisy minute (the machines are shared): the median p99 of the last
        # three minutes against that of minutes 2-4, both measured in this run.
        early = statistics.median(m.p99_ms for m in ms[1:4])
        late = statistics.median(m.p99_ms for m in ms[-3:])
        if late > 3 * early + 20:
            result.problems.append(f"p99 grew {early:.1f} -> {late:.1f} ms (medians)")
        if sum(m.non_2xx for m in ms):
            result.problems.append(f"{sum(m.non_2xx for m in ms)} non-2xx answers")
    return result
