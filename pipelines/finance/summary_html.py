"""summary.html beside summary.md in reports/<as_of date>/: an ageing chart (money at stake in
finance.exceptions by age bucket and kind, one chart per currency: amounts of different
currencies are never added) and the trend of open exceptions over the last runs
(finance.queue_history). Server-side SVG from a Jinja2 template (templates/summary/): no
JavaScript, no plotting library. Every bar carries its figures (data-* attributes and a table
beside the chart), so what a person sees is what a query of finance.exceptions gives."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
from jinja2 import Environment, FileSystemLoader, select_autoescape

from pipelines.finance import queue_history
from pipelines.finance.reports import money
from warehouse_files.durable import fsync_dir, fsync_file

FILE = "summary.html"
# (label, lowest age in days, highest age in days: exclusive; None: no bound)
BUCKETS: tuple[tuple[str, float, float | None], ...] = (
    ("< 1 day", 0, 1),
    ("1-3 days", 1, 3),
    ("3-7 days", 3, 7),
    ("7-30 days", 7, 30),
    ("30+ days", 30, None),
)
# One colour per kind, in pipelines.finance.build.KINDS order (colour-blind-safe palette, repeated).
PALETTE = ("#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb",
           "#332288", "#117733", "#882255", "#999933")  # fmt: skip
TRENDS = 30  # runs in the trend chart

_BUCKET_SQL = " ".join(
    f"when age_days < {hi} then {i}" for i, (_, _, hi) in enumerate(BUCKETS) if hi is not None
)
AGEING_SQL = f"""
select currency, kind, case {_BUCKET_SQL} else {len(BUCKETS) - 1} end as bucket,
    count(*) as exceptions, sum(amount_minor) as amount_minor
from finance.exceptions
group by all
order by currency, bucket, kind
"""  # noqa: S608 - fixed text

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates" / "summary"),
    autoescape=select_autoescape(["html"]),
)

# Chart geometry (SVG user units).
WIDTH, HEIGHT, LEFT, TOP, BOTTOM = 640, 240, 110, 10, 30


@dataclass(frozen=True)
class Bar:
    """One rectangle: a kind's money in one age bucket (ageing) or one run's count (trend)."""

    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str  # the tooltip
    bucket: str = ""
    kind: str = ""
    amount_minor: int = 0
    count: int = 0


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]
    ticks: list[tuple[float, str]]  # x of each bucket or run label
    top_label: str  # the figure at the top of the scale
    rows: list[tuple[str, str, int, str]]  # (bucket, kind, exceptions, money) for the table


def ageing(con: duckdb.DuckDBPyConnection) -> list[Chart]:
    """One stacked bar chart per currency: x the age bucket, the stack its kinds."""
    from pipelines.finance.build import KINDS

    colours = defaultdict(
        lambda: PALETTE[0], {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(KINDS)}
    )
    by_currency: dict[str, list[tuple[str, int, int, int]]] = {}
    # A malformed row (no currency, no amount, an unknown kind) is drawn, not fatal: the
    # blocking queue_well_formed check names it after this step.
    for currency, kind, bucket, n, amount in con.execute(AGEING_SQL).fetchall():
        by_currency.setdefault(currency or "?", []).append(
            (kind, int(bucket), int(n), int(amount or 0))
        )

    def order(cell: tuple[str, int, int, int]) -> tuple[int, int]:
        return cell[1], KINDS.index(cell[0]) if cell[0] in KINDS else len(KINDS)

    charts = []
    slot = (WIDTH - LEFT) / len(BUCKETS)
    plot = HEIGHT - TOP - BOTTOM
    for currency, cells in sorted(by_currency.items()):
        totals = [sum(a for _, b, _, a in cells if b == i) for i in range(len(BUCKETS))]
        scale = max(max(totals), 1)
        stacked = [0] * len(BUCKETS)
        bars = []
        for kind, bucket, n, amount in sorted(cells, key=order):
            h = plot * amount / scale
            y = TOP + plot * (1 - (stacked[bucket] + amount) / scale)
            stacked[bucket] += amount
            name = BUCKETS[bucket][0]
            bars.append(
                Bar(LEFT + bucket * slot + slot * 0.15, y, slot * 0.7, h, colours[kind],
                    f"{kind}, {name}: {n} open, {money(amount, currency)}", name, kind, amount, n)
            )  # fmt: skip
        rows = [(BUCKETS[b][0], k, n, money(a, currency)) for k, b, n, a in
                sorted(cells, key=order)]  # fmt: skip
        charts.append(
            Chart(
                f"Open money at stake by age, {currency}",
                bars,
                [(LEFT + i * slot + slot / 2, label) for i, (label, _, _) in enumerate(BUCKETS)],
                money(scale, currency),
                rows,
            )
        )
    return charts


def trend(con: duckdb.DuckDBPyConnection) -> Chart | None:
    """Open exceptions after each of the last runs (finance.queue_history)."""
    runs = queue_history.last_runs(con, TRENDS)
    if not runs:
        return None
    scale = max(max(o for _, o, _, _ in runs), 1)
    slot = (WIDTH - LEFT) / max(len(runs), 1)
    plot = HEIGHT - TOP - BOTTOM
    bars, ticks, rows = [], [], []
    for i, (as_of, n, new, resolved) in enumerate(runs):
        label = as_of.strftime("%m-%d %H:%M") if isinstance(as_of, datetime) else str(as_of)
        h = plot * n / scale
        bars.append(
            Bar(LEFT + i * slot + slot * 0.15, TOP + plot - h, slot * 0.7, h, PALETTE[0],
                f"as of {label}: {n} open ({new} new, {resolved} resolved)", label, count=n)
        )  # fmt: skip
        rows.append((label, f"{new} new, {resolved} resolved", n, ""))
    step = max(1, len(runs) // 6)
    ticks = [(b.x + b.width / 2, b.bucket) for b in bars[::step]]
    return Chart(f"Open exceptions over the last {len(runs)} runs", bars, ticks, f"{scale:,}", rows)


def render(con: duckdb.DuckDBPyConnection, as_of: datetime) -> str:
    from pipelines.finance.build import KINDS

    return _ENV.get_template("summary.html").render(
        as_of=as_of.isoformat(),
        ageing=ageing(con),
        trend=trend(con),
        geometry={"width": WIDTH, "height": HEIGHT, "left": LEFT, "top": TOP, "bottom": BOTTOM},
        legend=[(k, PALETTE[i % len(PALETTE)]) for i, k in enumerate(KINDS)],
    )


def write(con: duckdb.DuckDBPyConnection, reports_dir: Path, as_of: datetime) -> Path:
    """reports_dir/<as_of date>/summary.html, under a temporary name, synced, then renamed over
    the previous one (as reports.export writes the others)."""
    out = reports_dir / as_of.date().isoformat()
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{FILE}.tmp"
    tmp.write_text(render(con, as_of), encoding="utf-8")
    fsync_file(tmp)
    final = out / FILE
    os.replace(tmp, final)
    fsync_dir(out)
    return final
