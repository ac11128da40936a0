"""What finance reads: Markdown summaries (Dagster metadata, summary.md) and the per-run exports
under <data>/reports/<as_of date>/ (CSV and Parquet of the open exceptions, bag settlements and
merchant balances)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import duckdb

from warehouse_files.durable import fsync_dir, fsync_file

# Each table is stored in the order its export shows (the models end in ORDER BY), and DuckDB
# keeps insertion order (preserve_insertion_order): no second sort per file. The exceptions
# carry their merchant's name (bag settlements and balances have it already).
EXPORTS = {
    "exceptions": (
        "select e.*, m.merchant_name from finance.exceptions as e "
        "left join core.merchants as m on m.id = e.merchant_id"
    ),
    "bag_settlements": "select * from finance.bag_settlements",
    "merchant_balances": "select * from finance.merchant_balances",
}


def csv_query(con: duckdb.DuckDBPyConnection, query: str) -> str:
    """`query` as finance opens it in a spreadsheet: beside each `<x>_minor` money column its
    amount in currency units as exact decimal text (`<x>`, finance_units), and every timestamp
    as ISO-8601 UTC text with a Z (finance_iso)."""
    described = con.execute(f"describe {query}").fetchall()
    names = {row[0] for row in described}
    columns = []
    for name, kind, *_ in described:
        if name.endswith("_minor") and "currency" in names and name[:-6] not in names:
            columns += [f'"{name}"', f'finance_units("{name}", currency) as "{name[:-6]}"']
        elif kind.startswith("TIMESTAMP"):
            columns.append(f'finance_iso("{name}") as "{name}"')
        else:
            columns.append(f'"{name}"')
    return f"select {', '.join(columns)} from ({query})"  # noqa: S608


# ISO-4217 currencies without minor units (amounts are already whole units).
ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
     "XAF", "XOF", "XPF"}
)  # fmt: skip


def money(amount_minor: int | None, currency: str | None) -> str:
    """Minor units as a person reads them: 123456 USD -> '1,234.56 USD'."""
    if amount_minor is None:
        return ""
    code = currency or "?"
    if code in ZERO_DECIMAL:
        return f"{amount_minor:,} {code}"
    sign = "-" if amount_minor < 0 else ""
    units, cents = divmod(abs(amount_minor), 100)
    return f"{sign}{units:,}.{cents:02d} {code}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def exceptions_markdown(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute(
        "select kind, currency, count(*), sum(amount_minor), max(age_days) "
        "from finance.exceptions group by all order by kind, currency"
    ).fetchall()
    if not rows:
        return "No open exceptions."
    return _table(
        ["kind", "currency", "open", "money at stake", "oldest (days)"],
        [[k, c, f"{n:,}", money(int(a), c), f"{age}"] for k, c, n, a, age in rows],
    )


def money_markdown(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute(
        """
        with o as (
            select currency, count(*) as orders, sum(order_total_minor) as total,
                sum(captured_minor) as captured, sum(refunded_minor) as refunded
            from finance.order_payments group by currency
        ),
        b as (
            select currency, sum(due_minor) as expected, sum(transferred_minor) as transferred,
                sum(reversed_minor) as reversed, sum(outstanding_minor) as outstanding
            from finance.bag_settlements group by currency
        )
        select currency, coalesce(orders, 0), coalesce(total, 0), coalesce(captured, 0),
            coalesce(refunded, 0), coalesce(expected, 0), coalesce(transferred, 0),
            coalesce(reversed, 0), coalesce(outstanding, 0)
        from o full join b using (currency)
        order by currency
        """
    ).fetchall()
    if not rows:
        return "No orders yet."
    return _table(
        ["currency", "orders", "order totals", "captured", "refunded to shoppers",
         "expected by merchants", "transferred", "reversed", "outstanding"],
        [[c, f"{n:,}", *(money(int(v), c) for v in values)] for c, n, *values in rows],
    )  # fmt: skip


def settlements_markdown(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute(
        "select settlement_state, currency, count(*), sum(outstanding_minor) "
        "from finance.bag_settlements group by all order by 1, 2"
    ).fetchall()
    if not rows:
        return "No bags yet."
    return _table(
        ["settlement_state", "currency", "bags", "outstanding"],
        [[s, c, f"{n:,}", money(int(o), c)] for s, c, n, o in rows],
    )


class Summary(NamedTuple):
    """The three Markdown tables finance reads, made once per run for the UI and summary.md."""

    exceptions: str
    money: str
    settlements: str

    def markdown(self, as_of: datetime) -> str:
        return (
            f"# Finance summary as of {as_of.isoformat()}\n\n"
            f"## Open exceptions\n\n{self.exceptions}\n\n"
            f"## Money by currency\n\n{self.money}\n\n"
            f"## Bags by settlement state\n\n{self.settlements}\n"
        )


def summarize(con: duckdb.DuckDBPyConnection) -> Summary:
    return Summary(exceptions_markdown(con), money_markdown(con), settlements_markdown(con))


def export(
    con: duckdb.DuckDBPyConnection, reports_dir: Path, as_of: datetime, summary: Summary
) -> list[Path]:
    """Write the exports and summary.md into reports_dir/<as_of date>/. Each file is written
    under a temporary name, synced, then renamed over the previous one: a reader never sees a
    half-written file, and a re-run on the same day replaces that day's files."""
    out = reports_dir / as_of.date().isoformat()
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def publish(tmp: Path, final: Path) -> None:
        fsync_file(tmp)
        os.replace(tmp, final)
        written.append(final)

    for name, query in EXPORTS.items():
        for fmt, options, select in (
            ("parquet", "format parquet, compression zstd", query),
            ("csv", "header", csv_query(con, query)),
        ):
            final = out / f"{name}.{fmt}"
            tmp = out / f".{name}.{fmt}.tmp"
            target = str(tmp).replace("'", "''")
            con.execute(f"copy ({select}) to '{target}' ({options})")
            publish(tmp, final)
    tmp = out / ".summary.md.tmp"
    tmp.write_text(summary.markdown(as_of))
    publish(tmp, out / "summary.md")
    fsync_dir(out)
    return written
