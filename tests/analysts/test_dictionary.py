"""The data dictionary (docs/dictionary.md, pipelines/columns.json) is what a built warehouse's
COMMENTs say, and every table and column has one."""

from __future__ import annotations

from pathlib import Path

import duckdb

from dev import dictionary
from pipelines._sql import SCHEMAS


def test_the_dictionary_is_current(snapshot: Path) -> None:
    for path, text in dictionary.generate(snapshot).items():
        assert path.read_text() == text, f"{path.name} is stale: run `make dictionary`"


def test_every_schema_table_and_column_is_described(snapshot: Path) -> None:
    with duckdb.connect(str(snapshot), read_only=True) as con:
        tables = dictionary.read(con)
    assert {t.schema for t in tables} == set(SCHEMAS) == set(dictionary.SCHEMA_TEXT)
    assert len(tables) >= 36
    assert dictionary.missing(tables) == []
    for table in tables:
        assert "Grain: one row per" in table.comment, table.key
        assert "key:" in table.comment, table.key


def test_the_dictionary_lists_every_column_with_type_and_unit(snapshot: Path) -> None:
    text = dictionary.generate(snapshot)[dictionary.DICTIONARY_FILE]
    with duckdb.connect(str(snapshot), read_only=True) as con:
        for table in dictionary.read(con):
            assert f"### {table.key}\n" in text
            for column in table.columns:
                assert f"| `{column.name}` | {column.type} |" in text
    assert "| `outstanding_minor` | BIGINT |" in text
    assert "| minor units of `currency` |" in text


def test_merchant_balances_name_the_merchant(snapshot: Path) -> None:
    with duckdb.connect(str(snapshot), read_only=True) as con:
        rows = con.execute(
            "select count(*), count(b.merchant_name), "
            "count(*) filter (where b.merchant_name = m.merchant_name) "
            "from finance.merchant_balances b left join core.merchants m on m.id = b.merchant_id"
        ).fetchone()
    assert rows is not None
    total, named, matching = rows
    assert total > 0
    assert named == total
    assert matching == total
