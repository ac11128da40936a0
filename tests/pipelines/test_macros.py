"""The shared SQL macros (sql/macros.sql) on their edge cases."""

from __future__ import annotations

from datetime import date

import duckdb

from pipelines import _sql as sql


def test_utc_day_is_the_utc_calendar_day() -> None:
    with duckdb.connect() as con:
        sql.prepare(con)
        wrong = con.execute(
            """
            with t as (
                select timestamptz '1969-12-31 23:59:59.999999+00'
                    + to_microseconds(i * 7_919 * 1_000_003) as ts
                from range(0, 100_000) as r(i)
                union all select unnest([
                    timestamptz '2026-11-01 23:59:59.999999+00',
                    timestamptz '2026-11-02 00:00:00+00',
                    timestamptz '2026-11-02 01:30:00+02',
                    timestamptz '1970-01-01 00:00:00+00'])
            )
            select count(*) from t where utc_day(ts) <> cast(ts at time zone 'UTC' as date)
            """
        ).fetchone()
        assert wrong == (0,)
        assert con.execute("select utc_day(timestamptz '2026-11-02 01:30:00+02')").fetchone() == (
            date(2026, 11, 1),
        )
