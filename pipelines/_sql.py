"""The SQL loader: models live in sql/<layer>/<table>.sql; this module finds and runs them."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import duckdb

from pipelines.core.entities import CORE_ENTITIES

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
SCHEMAS = ("staging", "core", "finance", "ops")


@cache
def text(layer: str, name: str) -> str:
    return (SQL_DIR / layer / f"{name}.sql").read_text()


# The tables defined by a file of their own, sql/<layer>/<name>.ddl.sql (its build statements,
# if any, are <name>.sql), in the order they are created; (ops, loaded_files) also defines
# ops.model_state.
DEFINITIONS = (
    ("ops", "loaded_files"),
    ("staging", "topics"),
    ("staging", "deliveries"),
    ("staging", "quarantine"),
    ("staging", "events"),
    ("ops", "event_counts"),
    ("ops", "delivery_lag"),
    ("ops", "topics"),
    *(("core", table) for entity in CORE_ENTITIES for table in (f"{entity}_history", entity)),
    ("finance", "exception_log"),
    ("finance", "queue_history"),
)
DEFINED = (*DEFINITIONS, ("ops", "model_state"))


def run(con: duckdb.DuckDBPyConnection, layer: str, name: str) -> None:
    """Run a model's build statements, sql/<layer>/<name>.sql, as they stand on disk (no
    templating: a file reads fixed-name temp tables/views and DuckDB variables it documents)."""
    con.execute(text(layer, name))


# Per warehouse file this process prepared: the columns of the tables the definitions made, as
# prepare left them.
_prepared: dict[str, str] = {}


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Schemas, macros and the definition of every table that has one (sql/macros.sql and the
    .ddl.sql files): idempotent, so that each step works on a new or an existing warehouse. Run
    at the start of every step, they run once per warehouse file and process (the steps of one
    run prepare it once), and again whenever a table they define is gone or has other columns."""
    row = con.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    path = row[0] if row else None
    if path and _prepared.get(path) == _shape(con):
        return
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    con.execute((SQL_DIR / "macros.sql").read_text())
    for layer, name in DEFINITIONS:
        con.execute(text(layer, f"{name}.ddl"))
    if path:
        _prepared[path] = _shape(con)


def _shape(con: duckdb.DuckDBPyConnection) -> str:
    """The columns (name and type) of every defined table; "" when one of them is missing."""
    names = [f"{schema}.{table}" for schema, table in DEFINED]
    row = con.execute(
        "select count(distinct table_oid), "
        "string_agg(schema_name || '.' || table_name || '.' || column_name || ' ' || data_type,"
        " ', ' order by schema_name, table_name, column_index) "
        "from duckdb_columns() where database_name = current_database() "
        "and schema_name || '.' || table_name in (select unnest(?))",
        [names],
    ).fetchone()
    return str(row[1]) if row and row[0] == len(names) else ""
