"""Finance exports open as finance expects in a spreadsheet: money in currency units beside the
minor units, exact decimal text; ISO-8601 UTC timestamps; merchant names; the workflow columns."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from pipelines import _sql as sql
from pipelines.finance import reports
from pipelines.finance.build import build_finance
from pipelines.resources import FinanceSettings

from .handmade import Bag, Order, World


def test_csv_money_in_units_iso_timestamps_and_merchant_names(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.merchant(10)
    w.order(Order(100, [Bag(200, order_id=100, merchant_id=10, sub_total=123_456)], 300), at=1)
    w.order(
        Order(101, [Bag(201, order_id=101, merchant_id=10, sub_total=1_505, currency="JPY")], 301),
        at=1,
    )
    con = w.build(as_of_hours=30)
    result = build_finance(con, FinanceSettings(as_of="2026-11-02T06:00:00Z"))
    files = reports.export(con, tmp_path / "reports", result.as_of, reports.summarize(con))
    folder = tmp_path / "reports" / "2026-11-02"
    assert folder / "exceptions.csv" in files
    with (folder / "exceptions.csv").open() as f:
        rows = list(csv.DictReader(f))
    by_bag = {r["bag_id"]: r for r in rows}
    usd = by_bag["200"]
    assert (usd["amount_minor"], usd["amount"]) == ("111110", "1111.10")  # 123456 - 10 %
    assert (usd["difference_minor"], usd["difference"]) == ("-111110", "-1111.10")
    assert usd["merchant_name"] == "Merchant 10"
    assert usd["status"] == "open"
    assert usd["opened_at"].endswith("Z")
    assert datetime.fromisoformat(usd["as_of"]) == datetime(2026, 11, 2, 6, tzinfo=UTC)
    jpy = con.execute("select amount_minor from finance.exceptions where bag_id = 201").fetchone()
    assert jpy is not None
    assert by_bag["201"]["amount"] == str(jpy[0])  # yen have no minor unit
    # Parquet keeps the typed columns as they are.
    table = pq.read_table(folder / "exceptions.parquet")
    assert "amount" not in table.column_names
    assert str(table.schema.field("opened_at").type).startswith("timestamp")
    with (folder / "merchant_balances.csv").open() as f:
        header = next(csv.reader(f))
    assert header.index("outstanding") == header.index("outstanding_minor") + 1


def test_units_are_exact_for_every_exponent() -> None:
    con = duckdb.connect()
    con.execute((sql.SQL_DIR / "finance" / "_macros.sql").read_text())
    cases = [
        (123456, "USD", "1234.56"),
        (-5, "EUR", "-0.05"),
        (1500, "JPY", "1500"),
        (1234, "KWD", "1.234"),
        (0, "GBP", "0.00"),
        (10**15 + 1, "USD", "10000000000000.01"),
    ]
    for amount, currency, text in cases:
        assert con.execute("select finance_units(?::bigint, ?)", [amount, currency]).fetchone() == (
            text,
        )
