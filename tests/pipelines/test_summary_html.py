"""summary.html on a real simulated world: every bar of the ageing charts is a query of
finance.exceptions (per currency, age bucket and kind; currencies never added), the trend is one
bar per finance run with its open count, no JavaScript, written by rename."""

from __future__ import annotations

import shutil
from collections import defaultdict
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import duckdb

from pipelines.finance import summary_html
from pipelines.finance.build import build_finance

from .conftest import WORLD, at_end


class Bars(HTMLParser):
    """The <rect>s of each chart, with the currency of the <h3> before an ageing chart."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: list[tuple[str, list[dict[str, str]]]] = []
        self.heading = ""
        self._in_h3 = False
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        a = {k: v or "" for k, v in attrs}
        if tag == "h3":
            self._in_h3, self.heading = True, ""
        elif tag == "svg":
            self.charts.append((f"{a['class']}:{self.heading}", []))
        elif tag == "rect":
            self.charts[-1][1].append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "h3":
            self._in_h3 = False

    def handle_data(self, data: str) -> None:
        if self._in_h3:
            self.heading += data


def test_the_charts_are_queries_of_the_queue(built: Path, tmp_path: Path) -> None:
    target = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built, target)
    with duckdb.connect(str(target)) as con:
        first = build_finance(con, at_end(WORLD, transfer_grace_days=30))
        second = build_finance(con, at_end(WORLD))
        assert first.open < second.open
        path = summary_html.write(con, tmp_path / "reports", second.as_of)
        want: dict[str, dict[tuple[str, str], tuple[int, int]]] = defaultdict(dict)
        for currency, bucket, kind, n, amount in con.execute(
            """
            select currency,
                case when age_days < 1 then '< 1 day' when age_days < 3 then '1-3 days'
                    when age_days < 7 then '3-7 days' when age_days < 30 then '7-30 days'
                    else '30+ days' end,
                kind, count(*), sum(amount_minor)
            from finance.exceptions group by all
            """
        ).fetchall():
            want[currency][(bucket, kind)] = (int(n), int(amount))
    assert path == tmp_path / "reports" / second.as_of.date().isoformat() / "summary.html"
    assert [p.name for p in path.parent.iterdir()] == ["summary.html"]  # no temp file left
    parser = Bars()
    parser.feed(path.read_text())
    assert "script" not in parser.tags
    ageing = {
        title.split(", ")[-1]: {
            (r["data-bucket"], r["data-kind"]): (int(r["data-count"]), int(r["data-amount-minor"]))
            for r in rects
        }
        for title, rects in parser.charts
        if title.startswith("ageing:")
    }
    assert len(want) >= 2, "the world has one currency: the test proves little"
    assert ageing == want
    # Several age buckets (the world spans two days, and as_of is its end).
    assert len({b for cells in want.values() for b, _ in cells}) >= 2
    trend = [rects for title, rects in parser.charts if title.startswith("trend:")]
    assert [int(r["data-count"]) for r in trend[0]] == [first.open, second.open]


def test_an_empty_queue_says_so(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("create schema finance")
        con.execute(
            "create table finance.exceptions (currency varchar, kind varchar, "
            "age_days decimal(10, 2), amount_minor bigint)"
        )
        html = summary_html.render(con, datetime(2026, 12, 1, tzinfo=UTC))
    assert "No open exceptions." in html
    assert "No finance run recorded yet." in html


def test_a_malformed_queue_row_is_drawn_not_fatal(tmp_path: Path) -> None:
    """No currency, no amount, an unknown kind: the page is still written (the blocking
    queue_well_formed check names the row after the finance step)."""
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("create schema finance")
        con.execute(
            "create table finance.exceptions (currency varchar, kind varchar, "
            "age_days decimal(10, 2), amount_minor bigint)"
        )
        con.execute(
            "insert into finance.exceptions values (null, 'CAPTURE_MISSING', 3, null), "
            "('USD', 'NOT_A_KIND', 1, 500), ('USD', 'TRANSFER_MISSING', 2, 700)"
        )
        html = summary_html.render(con, datetime(2026, 12, 1, tzinfo=UTC))
    assert "Open money at stake by age, ?" in html
    assert "NOT_A_KIND" in html
