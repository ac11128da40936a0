"""The core build as a plain function over a DuckDB connection (the asset and tests call it).

One transaction, incremental: only events newer than core's watermark in ops.model_state are
merged into every entity's history (sql/core/), and only the ids they touch are rewritten in the
current tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from pipelines import _sql as sql
from pipelines._db import (
    drop_temp,
    scalar,
    set_watermark,
    transaction,
    watermark,
)
from pipelines.core.entities import CORE_ENTITIES, ORDER_TABLES


@dataclass
class CoreResult:
    changed_events: int = 0
    versions: dict[str, int] = field(default_factory=dict)
    dropped_versions: dict[str, int] = field(default_factory=dict)


# The changed events: on a first build every event, read in place so that payloads are not
# copied; else the events newer than core's watermark.
CHANGED_ALL = (
    "create or replace temp view changed_events as "
    "select * from staging.events where quarantine_reason is null"
)
CHANGED_SINCE = (
    "create or replace temp table changed_events as select * from staging.events "
    "where batch_id > ? and quarantine_reason is null"
)


def build_core(con: duckdb.DuckDBPyConnection) -> CoreResult:
    """Bring every core entity's history and current state up to date with staging.events.

    Every history first (order JSON parsed once for all four order-derived entities, see
    _event_docs.sql), then every current table, whose payloads are fetched in one pass.
    Python only chooses which SQL file runs and sets DuckDB variables (core_*) and the fixed-name
    temp table/view changed_events that the files document."""
    sql.prepare(con)
    result = CoreResult()
    with transaction(con):
        since = watermark(con, "core")
        if since:
            con.execute(CHANGED_SINCE, [since])
        else:
            con.execute(CHANGED_ALL)
        result.changed_events = scalar(con, "select count(*) from changed_events")
        if since and not result.changed_events:
            # Nothing new for core (no new file, or only quarantined deliveries): every history
            # and current table stays as it is (sql.prepare created any that were missing).
            for table in CORE_ENTITIES:
                result.versions[table] = result.dropped_versions[table] = 0
        else:
            _merge_changed(con, result, since)
        top = scalar(con, "select max(batch_id) from staging.events")
        set_watermark(con, "core", max(top, since))
        drop_temp(con)
    return result


def _merge_changed(con: duckdb.DuckDBPyConnection, result: CoreResult, since: int) -> None:
    """Merge the changed events into every history, then rewrite the current rows they touch."""
    modes = {table: _mode(con, table, since) for table in CORE_ENTITIES}
    if "rederive" in modes.values():
        sql.run(con, "core", "_sources")
    # Order JSON is parsed once, over every event some order-derived table reads; the other
    # entities read the changed events but orders (view changed_entity_events).
    rederive_orders = any(modes[t] == "rederive" for t in ORDER_TABLES)
    _set(con, "core_docs_source", "source_events" if rederive_orders else "changed_events")
    sql.run(con, "core", "_event_docs")
    sql.run(con, "core", "_current_keys")
    for table in CORE_ENTITIES:
        sql.run(con, "core", f"{table}_history")
        mode = modes[table]
        _set(con, "core_mode", mode)
        _set(con, "core_history", f"core.{table}_history")
        rederive = mode == "rederive"
        _set(con, "core_events", "source_events" if rederive else "changed_entity_events")
        _set(con, "core_docs", "order_docs" if rederive else "changed_docs")
        sql.run(con, "core", "_history_merge")
        sql.run(con, "core", f"{table}_history_write")
        result.versions[table] = scalar(con, "select count(*) from v_new")
        result.dropped_versions[table] = scalar(con, "select n from v_bad")
    # The parsed documents are done with: free their memory before payloads are read.
    sql.run(con, "core", "_free_docs")
    _write_current(con)
    sql.run(con, "core", "_derived")


def _set(con: duckdb.DuckDBPyConnection, name: str, value: str | bool) -> None:
    """Set DuckDB variable `name` (read by the SQL files with getvariable)."""
    con.execute(f"set variable {name} = ?", [value])


def _mode(con: duckdb.DuckDBPyConnection, table: str, since: int) -> str:
    """first: no history yet; rederive: a changed event already holds a version of this entity
    (files loaded out of order gave it an earlier first delivery); keep: otherwise."""
    if not since:
        return "first"
    _set(con, "core_history", f"core.{table}_history")
    held = scalar(
        con,
        "select count(*) from query_table(getvariable('core_history')) "
        "semi join changed_events using (event_key)",
    )
    return "rederive" if held else "keep"


def _write_current(con: duckdb.DuckDBPyConnection) -> None:
    """Rewrite every entity's current rows for the ids whose history changed (temp table
    cur_all). Payloads not already in the current table are read from their events in one pass:
    from the changed events when they hold them all (the usual incremental case), else from
    staging.events."""
    for table in CORE_ENTITIES:
        _set(con, "core_entity", table)
        _set(con, "core_current", f"core.{table}")
        sql.run(con, "core", "_current_need")
    missing = scalar(
        con,
        "select count(*) from (select distinct event_key from cur_need) "
        "anti join changed_events using (event_key)",
    )
    _set(con, "core_need_all", bool(missing))
    sql.run(con, "core", "_need_events")
    sql.run(con, "core", "_current_orders")
    for table in CORE_ENTITIES:
        _set(con, "core_entity", table)
        _set(con, "core_current", f"core.{table}")
        _set(con, "core_history", f"core.{table}_history")
        sql.run(con, "core", "_current_rows")
        sql.run(con, "core", table)
