"""The warehouse connection waits for another process's lock instead of failing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipelines.resources import Warehouse


def test_a_connection_waits_while_another_process_holds_the_file(tmp_path: Path) -> None:
    warehouse = Warehouse(data_dir=str(tmp_path))
    with warehouse.connection() as con:
        con.execute("create table t as select 1 as x")
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
            " time.sleep(1.5)",
            str(warehouse.database),
        ],
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        # Attaching fails while the holder lives; the connection retries until it exits.
        with warehouse.connection() as con:
            assert con.execute("select x from t").fetchall() == [(1,)]
        assert holder.wait(timeout=30) == 0
