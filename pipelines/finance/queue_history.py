"""finance.queue_history: one row per finance run (as_of, open, new, resolved), appended in the
run's transaction, so the HTML summary can show the queue's trend over the last runs. It is run
history, like first_seen_at: a rebuild from raw starts it again."""

from __future__ import annotations

from typing import Protocol

import duckdb

from pipelines import _sql as sql


class RunCounts(Protocol):
    @property
    def as_of(self) -> object: ...
    @property
    def open(self) -> int: ...
    @property
    def opened(self) -> int: ...
    @property
    def resolved(self) -> int: ...


def append(con: duckdb.DuckDBPyConnection, run: RunCounts) -> None:
    """One row for this run (the table exists: build_finance's sql.prepare defines it)."""
    con.execute(
        "insert into finance.queue_history values (?, now(), ?, ?, ?)",
        [run.as_of, run.open, run.opened, run.resolved],
    )


def last_runs(con: duckdb.DuckDBPyConnection, n: int = 30) -> list[tuple[object, int, int, int]]:
    """The newest `n` runs, oldest first: (as_of, open, new, resolved)."""
    con.execute(sql.text("finance", "queue_history.ddl"))  # an older warehouse has none
    rows = con.execute(
        "select as_of, open_exceptions, new_in_run, resolved_in_run from finance.queue_history "
        "order by recorded_at desc, as_of desc limit ?",
        [n],
    ).fetchall()
    return [(a, int(o), int(w), int(r)) for a, o, w, r in reversed(rows)]
