"""Helpers every build step shares: one transaction per step, scalars, watermarks in
ops.model_state, and the cleanup of a step's temp tables."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import duckdb


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One step's statements, committed together or not at all."""
    con.begin()
    try:
        yield
    except BaseException:
        con.rollback()
        raise
    con.commit()


def scalar(con: duckdb.DuckDBPyConnection, query: str, params: list[object] | None = None) -> int:
    row = con.execute(query, params or []).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def row_counts(
    con: duckdb.DuckDBPyConnection, schema: str, tables: Iterable[str]
) -> dict[str, int]:
    """The number of rows of each `schema.<table>` (an asset's metadata)."""
    return {
        table: scalar(con, "select count(*) from query_table(?)", [f"{schema}.{table}"])
        for table in tables
    }


def watermark(con: duckdb.DuckDBPyConnection, model: str) -> int:
    return scalar(con, "select max(batch_id) from ops.model_state where model = ?", [model])


def set_watermark(con: duckdb.DuckDBPyConnection, model: str, batch_id: int) -> None:
    con.execute("delete from ops.model_state where model = ?", [model])
    con.execute(
        "insert into ops.model_state values (?, ?, ?)", [model, batch_id, datetime.now(UTC)]
    )


def drop_temp(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every temp table and view of the connection: a step's scratch work, freed before
    its commit (whose checkpoint otherwise has to make room for it)."""
    names = con.execute(
        "select view_name, 'view' from duckdb_views() where temporary and not internal "
        "union all select table_name, 'table' from duckdb_tables() where temporary"
    ).fetchall()
    for name, kind in names:
        con.execute(f'drop {kind} if exists temp."{name}"')
