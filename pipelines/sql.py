"""SQL models live in sql/<layer>/<table>.sql; this module finds and runs them."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import duckdb

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
SCHEMAS = ("staging", "core", "finance", "ops")
CORE_ENTITIES = (
    "orders",
    "bags",
    "bag_skus",
    "payment_transactions",
    "transfers",
    "merchants",
    "offers",
    "collections",
    "syncs",
    "payout_accounts",
)


@cache
def text(layer: str, name: str) -> str:
    return (SQL_DIR / layer / f"{name}.sql").read_text()


def body(layer: str, name: str) -> str:
    """A model's SELECT, without its leading comment lines, for use inside other SQL."""
    lines = text(layer, name).splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("--")).strip()


BUILD_MARKER = "-- build:"
# Models whose table definition comes before their incremental build statements.
INCREMENTAL = (
    ("ops", "loaded_files"),
    ("staging", "topics"),
    ("staging", "deliveries"),
    ("staging", "quarantine"),
    ("staging", "events"),
    ("ops", "event_counts"),
    ("ops", "delivery_lag"),
    ("finance", "exception_log"),
)


def _split(layer: str, name: str) -> tuple[str, str]:
    definition, marker, rest = text(layer, name).partition(BUILD_MARKER)
    return definition, rest.partition("\n")[2] if marker else ""


def run(con: duckdb.DuckDBPyConnection, layer: str, name: str, **subst: str) -> None:
    """Run a model's build statements (its whole file if it has no build marker)."""
    definition, build = _split(layer, name)
    query = build or definition
    for key, value in subst.items():
        query = query.replace("{" + key + "}", value)
    con.execute(query)


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


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Schemas, macros and every incremental table's definition: idempotent, cheap, run at the
    start of every step so that each step works on a new or an existing warehouse."""
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    con.execute((SQL_DIR / "macros.sql").read_text())
    for layer, name in INCREMENTAL:
        con.execute(_split(layer, name)[0])
