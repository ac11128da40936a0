"""DuckDB COMMENTs for every warehouse table and column, applied after each build step, and each
table's Dagster asset spec (described by the same text).

The descriptions live beside the SQL that makes the columns, one file per layer:
sql/<layer>/columns.yml (`tables`: each table's description and the columns that mean something
else there; `columns`: what a column means in every other table of the layer). A column without a
description fails the definitions test, so a new column cannot ship undocumented.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

import dagster as dg
import duckdb
import yaml

from pipelines import catalog
from pipelines._sql import SCHEMAS, SQL_DIR


@cache
def _layer(schema: str) -> dict[str, Any]:
    path = SQL_DIR / schema / "columns.yml"
    data: dict[str, Any] = yaml.safe_load(path.read_text()) if path.exists() else {}
    return data


def _describe_table(spec: dict[str, Any]) -> str:
    text = str(spec["description"])
    return f"{text} Grain: {spec['grain']}." if spec.get("grain") else text


def _tables() -> dict[str, str]:
    """Each table's description, its grain and key appended (the data dictionary shows them)."""
    return {
        name: _describe_table(spec)
        for schema in SCHEMAS
        for name, spec in (_layer(schema).get("tables") or {}).items()
    }


TABLES: dict[str, str] = _tables()


def describe(schema: str, table: str, column: str) -> str | None:
    layer = _layer(schema)
    own = ((layer.get("tables") or {}).get(f"{schema}.{table}") or {}).get("columns") or {}
    text = own.get(column) or (layer.get("columns") or {}).get(column)
    return None if text is None else str(text)


def table_spec(key: dg.AssetKey, deps: Iterable[dg.AssetKey] = ()) -> dg.AssetSpec:
    """The asset of one warehouse table: its description, its schema as group, and what the
    catalog shows of it (column schema, owners, kinds, tags: pipelines/catalog.py)."""
    table = ".".join(key.path)
    return dg.AssetSpec(
        key,
        description=TABLES[table],
        group_name=key.path[0],
        kinds=catalog.kinds(table),
        owners=catalog.owners(key.path[0]),
        tags=catalog.tags(table),
        metadata=catalog.metadata(table),
        deps=list(deps),
    )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def missing(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Tables and columns of the warehouse that have no description here."""
    out = []
    for schema, table, column in con.execute(
        "select schema_name, table_name, column_name from duckdb_columns() "
        "where schema_name in ('staging', 'core', 'finance', 'ops') and not internal"
    ).fetchall():
        if f"{schema}.{table}" not in TABLES:
            out.append(f"{schema}.{table}")
        if describe(schema, table, column) is None:
            out.append(f"{schema}.{table}.{column}")
    return sorted(set(out))


def apply(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> None:
    """COMMENT every table and column of `schemas` that has a description (only those whose
    comment differs: a COMMENT is a catalog write, and most runs change none)."""
    rows = con.execute(
        "select c.schema_name, c.table_name, c.column_name, c.comment, t.comment "
        "from duckdb_columns() as c join duckdb_tables() as t using (database_oid, table_oid) "
        "where c.database_name = current_database() and c.schema_name in (select unnest(?)) "
        "and not c.internal",
        [list(schemas)],
    ).fetchall()
    statements = []
    tables = {(schema, table): table_comment for schema, table, _, _, table_comment in rows}
    for (schema, table), current in sorted(tables.items()):
        text = TABLES.get(f"{schema}.{table}")
        if text is not None and text != current:
            statements.append(f"comment on table {schema}.{table} is {_quote(text)}")
    for schema, table, column, current, _ in rows:
        text = describe(schema, table, column)
        if text is not None and text != current:
            statements.append(f'comment on column {schema}.{table}."{column}" is {_quote(text)}')
    if statements:
        con.execute(";\n".join(statements))
