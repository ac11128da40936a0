"""Helpers every build step shares: one transaction per step, scalars, watermarks in
ops.model_state, and tables created (and migrated) from the shape of a SELECT."""

from __future__ import annotations

from collections.abc import Iterator
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


def watermark(con: duckdb.DuckDBPyConnection, model: str) -> int:
    return scalar(con, "select max(batch_id) from ops.model_state where model = ?", [model])


def set_watermark(con: duckdb.DuckDBPyConnection, model: str, batch_id: int) -> None:
    con.execute("delete from ops.model_state where model = ?", [model])
    con.execute(
        "insert into ops.model_state values (?, ?, ?)", [model, batch_id, datetime.now(UTC)]
    )


# Large JSON columns: zstd writes them ~2x faster than DuckDB's default string compression
# (dictionary/FSST) and in a third of the space; only their (rare) full scans are slower.
ZSTD_COLUMNS = ("payload",)


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `schema.name` is a table of the current database."""
    schema, name = table.split(".")
    row = con.execute(
        "select count(*) from duckdb_tables() "
        "where database_name = current_database() and schema_name = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(row and row[0])


def drop_temp(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every temp table and view of the connection: a step's scratch work, freed before
    its commit (whose checkpoint otherwise has to make room for it)."""
    names = con.execute(
        "select view_name, 'view' from duckdb_views() where temporary and not internal "
        "union all select table_name, 'table' from duckdb_tables() where temporary"
    ).fetchall()
    for name, kind in names:
        con.execute(f'drop {kind} if exists temp."{name}"')


def create_table_as(
    con: duckdb.DuckDBPyConnection, table: str, select: str, *, migrate: bool = True
) -> None:
    """Create `table` (if missing) with the columns of `select`, large JSON columns zstd; with
    `migrate`, a table made by an earlier version gains the columns `select` has and it lacks
    (NULL in its old rows), so a warehouse keeps working when a model adds a column."""
    if not migrate and table_exists(con, table):
        return
    con.execute(f"create or replace temp table _shape as select * from ({select}) limit 0")  # noqa: S608
    columns = con.execute(
        "select column_name, data_type from duckdb_columns() "
        "where database_name = 'temp' and table_name = '_shape' order by column_index"
    ).fetchall()
    con.execute("drop table _shape")

    def ddl(column: str, kind: str) -> str:
        return f'"{column}" {kind}' + (" using compression zstd" if column in ZSTD_COLUMNS else "")

    if not table_exists(con, table):
        con.execute(f"create table {table} ({', '.join(ddl(c, k) for c, k in columns)})")
        return
    schema, name = table.split(".")
    have = {
        row[0]
        for row in con.execute(
            "select column_name from duckdb_columns() where database_name = current_database() "
            "and schema_name = ? and table_name = ?",
            [schema, name],
        ).fetchall()
    }
    for column, kind in columns:
        if column not in have:
            con.execute(f'alter table {table} add column "{column}" {kind}')
