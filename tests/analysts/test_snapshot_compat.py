"""The published snapshot opens in DuckDB 1.x (the CLI and the Python package of .venv-duckdb1/,
pinned by requirements-duckdb1.lock, built by `make duckdb1` / `make test`), with its COMMENTs;
`pipelines.analytics.connect()` opens it read-only."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb
import pytest

from pipelines import analytics, storage
from pipelines.publish import snapshot
from pipelines.resources import Warehouse

from .conftest import ROOT

SIDE = ROOT / ".venv-duckdb1" / "bin"


def side(tool: str) -> Path:
    path = SIDE / tool
    assert path.exists(), f"{path} is missing: `make duckdb1` builds the DuckDB 1.x side env"
    return path


def cli(database: Path, query: str) -> list[str]:
    done = subprocess.run(
        [str(side("duckdb")), "-readonly", "-noheader", "-list", str(database), "-c", query],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_the_side_env_is_duckdb_1() -> None:
    out = subprocess.run([str(side("duckdb")), "--version"], capture_output=True, text=True)
    assert out.stdout.startswith("v1."), out.stdout


def test_duckdb1_cli_reads_a_table_and_comments(snapshot: Path) -> None:
    (orders,) = cli(snapshot, "select count(*) from core.orders")
    assert int(orders) > 0
    (table_comment,) = cli(
        snapshot,
        "select comment from duckdb_tables() where schema_name = 'core' and table_name = 'orders'",
    )
    assert table_comment.startswith("Current state of every order")
    (column_comment,) = cli(
        snapshot,
        "select comment from duckdb_columns() where schema_name = 'staging' "
        "and table_name = 'topics' and column_name = 'entity'",
    )
    assert column_comment.startswith("Entity type")


def test_duckdb1_python_reads_a_table_and_a_comment(snapshot: Path) -> None:
    script = (
        "import duckdb, json, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "n = con.execute('select count(*) from finance.merchant_balances').fetchone()[0]\n"
        "c = con.execute(\"select comment from duckdb_columns() where schema_name = 'finance' "
        "and table_name = 'merchant_balances' and column_name = 'outstanding_minor'\").fetchone()\n"
        "print(json.dumps([duckdb.__version__, n, c[0]]))\n"
    )
    done = subprocess.run(
        [str(side("python")), "-c", script, str(snapshot)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    version, rows, comment = json.loads(done.stdout)
    assert version.startswith("1.")
    assert rows > 0
    assert comment.startswith("expected - (transferred - reversed)")


def test_a_warehouse_made_in_duckdb2_storage_is_published_for_duckdb1(tmp_path: Path) -> None:
    """A warehouse created before this change (DuckDB 2's own storage version) is copied
    through DuckDB into a v1.4.0 file, comments and all."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        con.execute("create schema core; create table core.merchants as select 7::bigint as id")
        con.execute("checkpoint")
        assert not storage.readable_by_duckdb1(con, "warehouse")
    snapshot.publish(Warehouse(data_dir=str(data_dir)))
    published = data_dir / "analytics.duckdb"
    assert cli(published, "select id from core.merchants") == ["7"]
    assert cli(
        published,
        "select comment from duckdb_tables() where table_name = 'merchants'",
    )[0].startswith("Current state of every merchant.")


def test_a_new_warehouse_is_created_readable_by_duckdb1(tmp_path: Path) -> None:
    warehouse = Warehouse(data_dir=str(tmp_path / "data"))
    with warehouse.connection() as con:
        assert storage.readable_by_duckdb1(con, "warehouse")


def test_connect_is_read_only_and_follows_the_data_dir(
    seeded: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(analytics.SNAPSHOT_ENV, raising=False)
    monkeypatch.setenv("VIOLET_DATA_DIR", str(seeded))
    with analytics.connect() as con:
        row = con.execute("select count(*) from core.orders").fetchone()
        assert row is not None
        assert row[0] > 0
        with pytest.raises(duckdb.InvalidInputException, match="read-only"):
            con.execute("create table core.scratch (x int)")
    monkeypatch.setenv("VIOLET_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no snapshot at"):
        analytics.connect()
    monkeypatch.setenv(analytics.SNAPSHOT_ENV, str(seeded / "analytics.duckdb"))
    assert analytics.snapshot_path() == seeded / "analytics.duckdb"
    with analytics.connect() as con:
        assert con.execute("select 1").fetchone() == (1,)
