"""The ops build as a plain function over a DuckDB connection (the asset and tests call it):
only the days and topics that new deliveries touched are recomputed (sql/ops/)."""

from __future__ import annotations

import duckdb

from pipelines import _sql as sql
from pipelines._db import drop_temp, scalar, set_watermark, transaction, watermark


def build_ops(con: duckdb.DuckDBPyConnection) -> int:
    """Recompute ops.event_counts and ops.delivery_lag for the days new deliveries touched, and
    add the new deliveries to ops.topics."""
    sql.prepare(con)
    with transaction(con):
        since = watermark(con, "ops")
        con.execute(
            "create or replace temp table touched_days as "
            "select distinct utc_day(received_at) as day "
            "from staging.deliveries where batch_id > ?",
            [since],
        )
        days = scalar(con, "select count(*) from touched_days")
        sql.run(con, "ops", "event_counts")
        sql.run(con, "ops", "delivery_lag")
        con.execute("set variable ops_since = ?", [since])
        sql.run(con, "ops", "topics")
        top = scalar(con, "select max(batch_id) from staging.deliveries")
        set_watermark(con, "ops", max(top, since))
        drop_temp(con)
    return days
