"""The finance build as a plain function over a DuckDB connection (the asset and tests call it).

Finance is small next to the event history (one row per order, bag, merchant), so each run
recomputes its marts from the current core tables at `as_of`; only finance.exception_log
carries state from run to run (first seen, resolved).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from pipelines import _sql as sql
from pipelines._db import drop_temp, scalar, transaction
from pipelines.finance import queue_history
from pipelines.finance.desk import store as desk
from pipelines.resources import FinanceSettings

MARTS = (
    "order_payments",
    "bag_settlements",
    "merchant_balances",
    "exceptions",
    "exception_log",
    "exception_actions",
)
# The temp tables the marts are built from, in build order (sql/finance/_<name>.sql).
STEPS = ("payments", "refunds", "coverage", "transfer_errors", "reversals")

KINDS = (
    "CAPTURE_MISSING",
    "CAPTURE_AMOUNT_MISMATCH",
    "CAPTURE_FAILED",
    "TRANSFER_MISSING",
    "TRANSFER_FAILED",
    "TRANSFER_PARTIALLY_SENT",
    "TRANSFER_AMOUNT_MISMATCH",
    "REVERSAL_MISSING",
    "REVERSAL_FAILED",
    "UNKNOWN_REFERENCE",
    "PAYOUT_ACCOUNT_BLOCKED",
)

# What makes two exceptions the same problem, whatever their wording: how the queue is compared
# with the simulator's truth (tests, demo).
QUEUE_KEY = (
    "kind, currency, amount_minor, difference_minor, order_id, bag_id, merchant_id, transfer_id"
)


def queue(
    con: duckdb.DuckDBPyConnection,
    source: str = "finance.exceptions",
    params: list[object] | None = None,
) -> Counter[tuple[Any, ...]]:
    """Exceptions (finance.exceptions, or e.g. `read_parquet(?)` of a truth file) as a multiset
    of their QUEUE_KEY."""
    return Counter(con.execute(f"select {QUEUE_KEY} from {source}", params or []).fetchall())  # noqa: S608


@dataclass
class FinanceResult:
    as_of: datetime
    opened: int = 0  # exceptions first seen in this run
    resolved: int = 0  # exceptions this run no longer finds
    open: int = 0


def parse_as_of(value: str) -> datetime:
    """An ISO-8601 instant (a date alone means its midnight; no offset means UTC)."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"as_of {value!r} is not an ISO-8601 date or time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def resolve_as_of(settings: FinanceSettings) -> datetime:
    """The instant finance looks from: the explicit as_of (rebuilds, tests), else the wall clock
    of the run in UTC. Never a timestamp some sender wrote: a payload dated in the future must
    not age every open item at once (pipelines/clock.py says where such payloads go)."""
    if settings.as_of.strip():
        return parse_as_of(settings.as_of)
    return datetime.now(UTC)


def _set_variables(
    con: duckdb.DuckDBPyConnection, as_of: datetime, settings: FinanceSettings
) -> None:
    """Variable finance_settings, from which sql/finance/_settings.sql sets the variables the
    finance files read (as_of and the grace periods, whole microseconds)."""

    def us(seconds: float) -> int:
        return round(seconds * 1_000_000)

    values = {
        "as_of": as_of,
        "capture_grace_us": us(settings.capture_grace_hours * 3600),
        "custom_capture_grace_us": us(settings.custom_capture_grace_days * 86400),
        "transfer_grace_us": us(settings.transfer_grace_days * 86400),
        "scheduled_transfer_grace_us": us(settings.scheduled_transfer_grace_days * 86400),
        "reversal_grace_us": us(settings.reversal_grace_days * 86400),
        "reference_grace_us": us(settings.reference_grace_hours * 3600),
    }
    con.execute("set variable finance_settings = ?", [values])
    sql.run(con, "finance", "_settings")


def build_finance(
    con: duckdb.DuckDBPyConnection,
    settings: FinanceSettings | None = None,
    desk_store: Path | None = None,
) -> FinanceResult:
    """Rebuild the finance marts from core at as_of, fold the exceptions into the log, and the
    finance desk's actions (finance/desk/store.py; none when `desk_store` is None) into both."""
    settings = settings or FinanceSettings()
    sql.prepare(con)
    con.execute((sql.SQL_DIR / "finance" / "_macros.sql").read_text())
    with transaction(con):
        as_of = resolve_as_of(settings)
        _set_variables(con, as_of, settings)
        result = FinanceResult(as_of=as_of)
        for step in STEPS:
            sql.run(con, "finance", f"_{step}")
        for mart in ("order_payments", "bag_settlements", "merchant_balances"):
            sql.run(con, "finance", mart)
        sql.run(con, "finance", "_exceptions_now")
        result.opened = scalar(
            con,
            "select count(*) from fin_exceptions_now where exception_id not in "
            "(select exception_id from finance.exception_log where resolved_at is null)",
        )
        result.resolved = scalar(
            con,
            "select count(*) from finance.exception_log where resolved_at is null "
            "and exception_id not in (select exception_id from fin_exceptions_now)",
        )
        desk.load(con, desk_store)
        sql.run(con, "finance", "_workflow")
        sql.run(con, "finance", "exception_log")
        sql.run(con, "finance", "exceptions")
        result.open = scalar(con, "select count(*) from finance.exceptions")
        queue_history.append(con, result)  # the HTML summary's trend (finance/summary_html.py)
        drop_temp(con)
    return result
