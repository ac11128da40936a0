"""Table definitions (sql/<layer>/<table>.ddl.sql) live apart from build statements, and a step
does not run them again on a warehouse they already shaped; a table that is gone or has other
columns is defined again (a warehouse of an older layout is migrated). Descriptions live beside
the SQL (sql/<layer>/columns.yml) and describe what exists."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines import _sql as sql
from pipelines.core.entities import CORE_ENTITIES
from pipelines.finance.build import build_finance
from pipelines.resources import FinanceSettings

DDL = re.compile(r"create\s+table\s+if\s+not\s+exists|alter\s+table|--\s*build:", re.IGNORECASE)


def oid(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> int:
    row = con.execute(
        "select table_oid from duckdb_tables() where schema_name = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    assert row is not None, f"{schema}.{table} is missing"
    return int(row[0])


def test_build_files_hold_no_table_definition() -> None:
    builds = [p for p in sorted(sql.SQL_DIR.rglob("*.sql")) if not p.name.endswith(".ddl.sql")]
    assert builds
    found = [p.relative_to(sql.SQL_DIR).as_posix() for p in builds if DDL.search(p.read_text())]
    assert found == [], "definitions belong in <table>.ddl.sql"


def test_a_prepared_warehouse_is_not_defined_again(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        sql.prepare(con)
        # staging.topics is `create or replace`: running its definition again makes a new table
        before = oid(con, "staging", "topics")
        sql.prepare(con)
        sql.prepare(con)
        assert oid(con, "staging", "topics") == before


def test_a_table_gone_or_altered_is_defined_again(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        sql.prepare(con)
        con.execute("drop table ops.event_counts")
        sql.prepare(con)
        oid(con, "ops", "event_counts")
        con.execute("alter table staging.quarantine drop column detail")
        sql.prepare(con)
        columns = con.execute(
            "select column_name from duckdb_columns() "
            "where schema_name = 'staging' and table_name = 'quarantine'"
        ).fetchall()
        assert ("detail",) in columns


def test_descriptions_live_beside_the_sql_and_describe_what_exists(
    built: Path, tmp_path: Path
) -> None:
    """sql/<layer>/columns.yml describes exactly the layer's tables, and no column that none of
    them has (a renamed or dropped column does not leave its description behind)."""
    path = tmp_path / "w.duckdb"
    shutil.copy2(built, path)
    with duckdb.connect(str(path)) as con:
        build_finance(con, FinanceSettings())
        for schema in sql.SCHEMAS:
            layer = yaml.safe_load((sql.SQL_DIR / schema / "columns.yml").read_text())
            tables = {
                f"{schema}.{t}"
                for (t,) in con.execute(
                    "select table_name from duckdb_tables() where schema_name = ?", [schema]
                ).fetchall()
            }
            assert set(layer["tables"]) == tables, schema
            columns = {
                (f"{schema}.{t}", c)
                for t, c in con.execute(
                    "select table_name, column_name from duckdb_columns() where schema_name = ?",
                    [schema],
                ).fetchall()
            }
            stale = [c for c in layer["columns"] if c not in {name for _, name in columns}]
            stale += [
                f"{table}.{c}"
                for table, spec in layer["tables"].items()
                for c in spec.get("columns") or {}
                if (table, c) not in columns
            ]
            assert stale == [], f"{schema}: descriptions of columns that no table has"


# The columns only a current table has, filled by sql/core/_derived.sql.
DERIVED = {
    "transfers": ["merchant_id_source", "partially_sent", "reversal_failed_at"],
    "bags": ["merchant_name"],
}


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    return [
        (str(name), str(kind))
        for name, kind in con.execute(
            "select column_name, data_type from duckdb_columns() where database_name = "
            "if(? = 'temp', 'temp', current_database()) and schema_name = ? and table_name = ? "
            "order by column_index",
            [schema, "main" if schema == "temp" else schema, table],
        ).fetchall()
    ]


@pytest.mark.parametrize("entity", CORE_ENTITIES)
def test_core_definitions_have_the_columns_of_the_version_select(
    entity: str, tmp_path: Path
) -> None:
    """core.<entity>_history.ddl.sql spells out the columns of the version select
    (entity_versions in <entity>_history.sql) in its order and types, then validity; core.<entity>
    the same without validity, then payload and the derived columns. Rows are written by name,
    so a column added to the select and not to the definition would fail the build, and a type
    changed in one place only would be cast silently: this test fails on either."""
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        sql.prepare(con)
        con.execute("create temp view changed_events as select * from staging.events")
        con.execute("set variable core_docs_source = 'changed_events'")
        sql.run(con, "core", "_event_docs")
        sql.run(con, "core", f"{entity}_history")
        con.execute(
            "create temp table shape as select * from "
            "entity_versions('changed_entity_events', 'changed_docs') limit 0"
        )
        select = _columns(con, "temp", "shape")
        validity = [
            ("valid_from", "TIMESTAMP WITH TIME ZONE"),
            ("valid_to", "TIMESTAMP WITH TIME ZONE"),
            ("is_current", "BOOLEAN"),
        ]
        assert _columns(con, "core", f"{entity}_history") == select + validity
        current = _columns(con, "core", entity)
        derived = [c for c in current if c[0] in DERIVED.get(entity, [])]
        assert [c[0] for c in derived] == DERIVED.get(entity, [])
        assert current == [*select, ("payload", "JSON"), *derived]
