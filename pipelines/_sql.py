"""The SQL loader: models live in sql/<layer>/<table>.sql; this module finds and runs them."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import duckdb

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
SCHEMAS = ("staging", "core", "finance", "ops")


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


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Schemas, macros and every incremental table's definition: idempotent, cheap, run at the
    start of every step so that each step works on a new or an existing warehouse."""
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    con.execute((SQL_DIR / "macros.sql").read_text())
    for layer, name in INCREMENTAL:
        con.execute(_split(layer, name)[0])
