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
    create_table_as,
    drop_temp,
    scalar,
    set_watermark,
    table_exists,
    transaction,
    watermark,
)
from pipelines.core.entities import CORE_ENTITIES, ORDER_TABLES


@dataclass
class CoreResult:
    changed_events: int = 0
    versions: dict[str, int] = field(default_factory=dict)
    dropped_versions: dict[str, int] = field(default_factory=dict)


ALL_EVENTS = "(select * from staging.events where quarantine_reason is null)"


def build_core(con: duckdb.DuckDBPyConnection) -> CoreResult:
    """Bring every core entity's history and current state up to date with staging.events.

    Every history first (order JSON parsed once for all four order-derived entities, see
    _event_docs.sql), then every current table, whose payloads are fetched in one pass."""
    sql.prepare(con)
    result = CoreResult()
    with transaction(con):
        since = watermark(con, "core")
        if since:
            con.execute(
                "create or replace temp table changed_events as select * from staging.events "
                "where batch_id > ? and quarantine_reason is null",
                [since],
            )
            changed = "changed_events"
        else:
            # First build: every event is changed; read in place so that payloads are not copied.
            changed = ALL_EVENTS
        result.changed_events = scalar(con, f"select count(*) from {changed}")  # noqa: S608
        if since and not result.changed_events:
            # Nothing new for core (no new file, or only quarantined deliveries): every history
            # and current table stays as it is; only missing tables are created.
            for table in CORE_ENTITIES:
                _create_tables(con, table, migrate=False)
                result.versions[table] = result.dropped_versions[table] = 0
        else:
            _merge_changed(con, result, since, changed)
        top = scalar(con, "select max(batch_id) from staging.events")
        set_watermark(con, "core", max(top, since))
        drop_temp(con)
    return result


def _merge_changed(
    con: duckdb.DuckDBPyConnection, result: CoreResult, since: int, changed: str
) -> None:
    """Merge the changed events into every history, then rewrite the current rows they touch."""
    modes = {table: _mode(con, table, since) for table in CORE_ENTITIES}
    if "rederive" in modes.values():
        sql.run(con, "core", "_sources")
    # Order JSON is parsed once, over every event some order-derived table reads; the other
    # entities read the changed events but orders (temp view entity_events).
    docs = ORDER_DOCS_SOURCE if any(modes[t] == "rederive" for t in ORDER_TABLES) else changed
    sql.run(con, "core", "_event_docs", events=docs)
    docs_changed, entity_changed = (
        ("order_docs", "entity_events")
        if docs == changed
        else (
            "(select * from order_docs semi join changed_events using (event_key))",
            "(select * from entity_events semi join changed_events using (event_key))",
        )
    )
    con.execute(f"create or replace temp table cur_all ({CUR_COLUMNS})")
    for table in CORE_ENTITIES:
        _create_tables(con, table)
        sql.run(
            con,
            "core",
            "_history_merge",
            table=table,
            **_merge_inputs(table, modes[table], entity_changed, docs_changed),
        )
        result.versions[table] = scalar(con, "select count(*) from v_new")
        result.dropped_versions[table] = scalar(con, "select n from v_bad")
    # The parsed documents are done with: free their memory before payloads are read.
    con.execute("drop view order_docs; drop view entity_events; drop table event_docs")
    _write_current(con, changed)
    sql.run(con, "core", "_derived.ddl")
    sql.run(con, "core", "_derived")


ORDER_DOCS_SOURCE = "source_events"
CUR_COLUMNS = "tbl varchar, id bigint, event_key varchar"


def _mode(con: duckdb.DuckDBPyConnection, table: str, since: int) -> str:
    """first: no history yet; rederive: a changed event already holds a version of this entity
    (files loaded out of order gave it an earlier first delivery); keep: otherwise."""
    if not since or not table_exists(con, f"core.{table}_history"):
        return "first"
    held = scalar(
        con,
        f"select count(*) from core.{table}_history "  # noqa: S608 - fixed names
        "semi join changed_events using (event_key)",
    )
    return "rederive" if held else "keep"


def _create_tables(con: duckdb.DuckDBPyConnection, table: str, *, migrate: bool = True) -> None:
    """The entity's history (typed columns of its <table>_history.sql, validity) and current
    table (the same columns and the payload). Histories of warehouses built before histories
    lost their payload column lose it here."""
    versions = sql.body("core", f"{table}_history")
    shape = versions.replace("{events}", ALL_EVENTS).replace("{orders}", "order_docs")
    create_table_as(
        con,
        f"core.{table}_history",
        "select *, date_last_modified as valid_from, null::timestamptz as valid_to, "  # noqa: S608
        f"true as is_current from ({shape})",
        migrate=migrate,
    )
    if scalar(
        con,
        "select count(*) from duckdb_columns() where database_name = current_database() "
        "and schema_name = 'core' and table_name = ? and column_name = 'payload'",
        [f"{table}_history"],
    ):
        con.execute(f"alter table core.{table}_history drop column payload")
    create_table_as(
        con,
        f"core.{table}",
        "select * exclude (valid_from, valid_to, is_current), null::json as payload "  # noqa: S608
        f"from core.{table}_history",
    )


def _merge_inputs(table: str, mode: str, changed: str, docs_changed: str) -> dict[str, str]:
    """The placeholders of _history_merge.sql for one entity.

    first: a first build, every event is new. keep: the changed events are all new to this
    entity's history, so an affected id's other versions are its history rows, kept as they are
    (the newest wins either way: a version that lost once loses again). rederive: an event that
    already held a version changed (files loaded out of order gave it an earlier first
    delivery), so every version of an affected id is derived again from all of its source
    events (temp table source_events, see _sources.sql), as if built from scratch.
    changed: the changed events but orders; order events are read through temp table
    order_docs, and docs_changed is its rows of changed events.
    """
    versions = sql.body("core", f"{table}_history")

    def over(events: str, orders: str) -> str:
        return versions.replace("{events}", events).replace("{orders}", orders)

    def picked(events: str, orders: str) -> str:
        return over(
            f"(select * from {events} semi join v_pick_events using (event_key))",  # noqa: S608
            f"(select * from {orders} semi join v_pick_events using (event_key))",  # noqa: S608
        )

    if mode == "first":
        return {
            "versions_changed": over(changed, docs_changed),
            "versions_all": "select * from v_new where false",
            "all": "v_new",
            "keep": "false",
            "versions_picked": picked(changed, docs_changed),
        }
    if mode == "keep":
        return {
            "versions_changed": over(changed, docs_changed),
            "versions_all": (
                "select id, date_last_modified, received_at, event_key "  # noqa: S608
                f"from core.{table}_history union all select * from v_new"
            ),
            "all": "v_all",
            "keep": "true",
            "versions_picked": picked(changed, docs_changed),
        }
    return {
        "versions_changed": over(changed, docs_changed),
        "versions_all": over(ORDER_DOCS_SOURCE, "order_docs"),
        "all": "v_all",
        "keep": "false",
        "versions_picked": picked(ORDER_DOCS_SOURCE, "order_docs"),
    }


def _write_current(con: duckdb.DuckDBPyConnection, changed: str) -> None:
    """Rewrite every entity's current rows for the ids whose history changed (temp table
    cur_all). Payloads not already in the current table are read from their events in one pass:
    from the changed events when they hold them all (the usual incremental case), else from
    staging.events."""
    con.execute(f"create or replace temp table cur_need ({CUR_COLUMNS})")
    for table in CORE_ENTITIES:
        con.execute(
            "insert into cur_need select a.tbl, a.id, a.event_key from cur_all as a "  # noqa: S608
            f"anti join core.{table} as c on a.id = c.id and a.event_key = c.event_key "
            "where a.tbl = ?",
            [table],
        )
    keys = "(select distinct event_key from cur_need)"
    missing = scalar(con, f"select count(*) from {keys} anti join {changed} using (event_key)")  # noqa: S608
    source = ALL_EVENTS if missing else changed
    con.execute(
        "create or replace temp table need_events as "  # noqa: S608
        f"select event_key, entity, payload from {source} semi join {keys} using (event_key)"
    )
    sql.run(con, "core", "_current_orders")
    for table in CORE_ENTITIES:
        need = f"(select id, event_key from cur_need where tbl = '{table}')"  # noqa: S608
        payloads = sql.body("core", table).replace("{events}", "need_events")
        sql.run(con, "core", "_current", table=table, payloads=payloads.replace("{need}", need))
