"""The README's "For analysts" queries run as written on a seeded snapshot, in DuckDB 2 and in
the DuckDB 1.x CLI, and each returns rows; the DuckDB 2 habits docs/analysts.md warns about
fail exactly as it says."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import duckdb
import pytest

from .conftest import ROOT
from .test_snapshot_compat import side

README = ROOT / "README.md"


def analyst_queries() -> list[str]:
    text = README.read_text()
    section = text.split("\n## For analysts\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sql\n(.*?)```", section, flags=re.DOTALL)


def test_the_readme_has_the_five_queries() -> None:
    queries = analyst_queries()
    assert len(queries) == 5
    titles = [q.splitlines()[0].lower() for q in queries]
    for words in ("orders by status", "unsettled bags", "failed transfers", "history", "lag"):
        assert any(words in t for t in titles), words


@pytest.mark.parametrize("number", range(5))
def test_a_readme_query_returns_rows_in_duckdb_2_and_1(number: int, snapshot: Path) -> None:
    query = analyst_queries()[number]
    with duckdb.connect(str(snapshot), read_only=True) as con:
        rows = con.execute(query).fetchall()
    assert rows, query
    import subprocess

    done = subprocess.run(
        [str(side("duckdb")), "-readonly", "-csv", "-noheader", str(snapshot)],
        input=query,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert len(done.stdout.strip().splitlines()) >= len(rows)


def test_the_duckdb_2_habits_fail_as_documented(snapshot: Path) -> None:
    doc = (ROOT / "docs" / "analysts.md").read_text()
    con = duckdb.connect(str(snapshot), read_only=True)
    for method in ("fetchone", "fetchmany", "execute"):
        with pytest.raises(AttributeError, match=rf"Relations no longer have {method}\(\)"):
            getattr(con.sql("select 1"), method)()
        assert f"Relations no longer have {method}()" in doc
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DeprecationWarning, match="use to_arrow_table"):
            con.sql("select 1 as x").fetch_arrow_table()
    assert "fetch_arrow_table() is deprecated, use to_arrow_table() instead." in doc
    reader = con.sql("select * from core.orders").arrow()
    with pytest.raises(duckdb.Error, match="connection has an open result"):
        con.execute("select 1").fetchall()
    reader.read_all()
    assert con.execute("select 1").fetchone() == (1,)
    assert "connection has an open result; drain or destroy it" in doc
    assert con.execute("select * from range(3)").fetchone() == (0,)
    with pytest.raises(duckdb.Error, match="unfinished result from execute"):
        con.sql("select 1").fetchall()
    assert con.execute("select 2").fetchall() == [(2,)]  # a new execute replaces the result
    assert "connection has an unfinished result from execute(); call complete()" in doc
    with pytest.raises(duckdb.ConnectionException, match="different configuration"):
        duckdb.connect(str(snapshot))
    assert "with a different configuration than existing connections" in doc
    # What still works, as the doc says.
    assert con.sql("select 1").fetchall() == [(1,)]
    assert con.execute("select ?", [2]).fetchall() == [(2,)]
    assert len(con.sql("select 1 as x").df()) == 1
    con.close()
