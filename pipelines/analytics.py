"""Open the analysts' snapshot: `from pipelines.analytics import connect`.

    con = connect()                      # $VIOLET_DATA_DIR/analytics.duckdb, default ./data
    con.sql("select status, count(*) from core.orders group by 1").df()

The connection is read-only: it never blocks a pipeline run (each publish replaces the file by
an atomic rename; a connection keeps the snapshot it opened until it is closed and reopened).
Imports only the standard library and duckdb, so it works in any environment with DuckDB.
"""

from __future__ import annotations

import os
from collections.abc import Sized
from pathlib import Path
from typing import TypeVar

import duckdb

SNAPSHOT_FILE = "analytics.duckdb"
# Set by `make notebooks` to the snapshot JupyterLab's notebooks read.
SNAPSHOT_ENV = "VIOLET_SNAPSHOT"
_Sized = TypeVar("_Sized", bound=Sized)


def snapshot_path(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The snapshot's path: `data_dir`/analytics.duckdb if given, else $VIOLET_SNAPSHOT, else
    $VIOLET_DATA_DIR/analytics.duckdb (default data/analytics.duckdb)."""
    if data_dir is not None:
        return Path(data_dir) / SNAPSHOT_FILE
    if os.environ.get(SNAPSHOT_ENV):
        return Path(os.environ[SNAPSHOT_ENV])
    return Path(os.environ.get("VIOLET_DATA_DIR") or "data") / SNAPSHOT_FILE


def connect(data_dir: str | os.PathLike[str] | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published snapshot (see snapshot_path); raises
    FileNotFoundError, naming the path, when no snapshot has been published there yet."""
    path = snapshot_path(data_dir)
    if not path.is_file():
        raise FileNotFoundError(
            f"no snapshot at {path}: run `make demo` or `make materialize` first, or set "
            f"VIOLET_DATA_DIR (or {SNAPSHOT_ENV}) to where one was published"
        )
    return duckdb.connect(str(path), read_only=True)


class EmptyFrame(AssertionError):
    """A chart's data came back empty: the query or the snapshot is wrong, not the chart."""


def nonempty(frame: _Sized, what: str) -> _Sized:
    """`frame` itself if it has rows; raises EmptyFrame naming `what` otherwise (the notebooks
    check every frame a chart is drawn from, so an empty chart fails their test)."""
    if len(frame) == 0:
        raise EmptyFrame(f"no rows for {what}: is the snapshot built (make demo)?")
    return frame
