"""The warehouse's build steps as plain functions over a DuckDB connection.

Dagster assets (staging.py, core.py, ops.py) call these; tests call them too. Each step is one
transaction and incremental: staging reads only raw files missing from ops.loaded_files, and
every later step reads only what changed since its own watermark in ops.model_state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from pipelines import sql
from warehouse_files import layout

RAW_GLOB = layout.RAW_GLOB
# How far after its receipt a body's timestamps may be (Violet's clock against ours): a version
# dated later is quarantined (future_timestamp) instead of becoming current state until then.
FUTURE_TOLERANCE = timedelta(days=1)


@dataclass
class LoadResult:
    batch_id: int | None = None
    files: int = 0
    deliveries: int = 0
    quarantined: int = 0
    events_touched: int = 0
    pending_files: int = 0  # still waiting after this load (when max_files cut it short)


def load_all(
    con: duckdb.DuckDBPyConnection,
    raw_dir: Path,
    run_id: str = "",
    batch_bytes: int = 0,
    future_tolerance: timedelta = FUTURE_TOLERANCE,
) -> list[LoadResult]:
    """Load every pending file, in transactions of about `batch_bytes` of Parquet each (0: one
    transaction), and return each batch's result."""
    results = []
    while True:
        result = load_staging(
            con, raw_dir, run_id, max_bytes=batch_bytes or None, future_tolerance=future_tolerance
        )
        if result.files:
            results.append(result)
        if not result.pending_files:
            return results


@dataclass
class CoreResult:
    changed_events: int = 0
    versions: dict[str, int] = field(default_factory=dict)
    dropped_versions: dict[str, int] = field(default_factory=dict)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One step's statements, committed together or not at all."""
    con.begin()
    try:
        yield
    except BaseException:
        con.rollback()
        raise
    con.commit()


def scalar(con: duckdb.DuckDBPyConnection, query: str, params: list[object] | None = None) -> int:
    row = con.execute(query, params or []).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def raw_files(raw_dir: Path) -> list[str]:
    """Sealed raw files, as paths relative to raw_dir (temp files start with '.': never seen)."""
    if not raw_dir.is_dir():
        return []
    return sorted(p.relative_to(raw_dir).as_posix() for p in raw_dir.glob(RAW_GLOB))


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def pending_files(con: duckdb.DuckDBPyConnection, raw_dir: Path) -> list[str]:
    loaded = {row[0] for row in con.execute("select file from ops.loaded_files").fetchall()}
    return [f for f in raw_files(raw_dir) if f not in loaded]


def watermark(con: duckdb.DuckDBPyConnection, model: str) -> int:
    return scalar(con, "select max(batch_id) from ops.model_state where model = ?", [model])


def set_watermark(con: duckdb.DuckDBPyConnection, model: str, batch_id: int) -> None:
    con.execute("delete from ops.model_state where model = ?", [model])
    con.execute(
        "insert into ops.model_state values (?, ?, ?)", [model, batch_id, datetime.now(UTC)]
    )


def load_staging(
    con: duckdb.DuckDBPyConnection,
    raw_dir: Path,
    run_id: str = "",
    max_files: int | None = None,
    max_bytes: int | None = None,
    future_tolerance: timedelta = FUTURE_TOLERANCE,
) -> LoadResult:
    """Load raw files not yet in the ledger into staging.deliveries/events/quarantine, as one
    transaction. At most `max_files` files, and files up to `max_bytes` (at least one file),
    so that a backlog can be loaded in batches of bounded memory. A body dated more than
    `future_tolerance` after its receipt is quarantined (future_timestamp)."""
    sql.prepare(con)
    pending = pending_files(con, raw_dir)
    todo = pending if max_files is None else pending[:max_files]
    if max_bytes is not None:
        total = 0
        for i, name in enumerate(todo):
            total += (raw_dir / name).stat().st_size
            if total > max_bytes and i > 0:
                todo = todo[:i]
                break
    result = LoadResult(pending_files=len(pending) - len(todo))
    if not todo:
        return result
    with transaction(con):
        batch_id = scalar(con, "select coalesce(max(batch_id), 0) + 1 from ops.loaded_files")
        con.execute(f"set variable batch_id = {batch_id}")
        con.execute("set variable violet_future_tolerance = ?", [future_tolerance])
        # A view, not a table: the bodies are read from Parquet once, straight into the parse.
        paths = ", ".join(_quote(str(raw_dir / f)) for f in todo)
        con.execute(
            "create or replace temp view new_raw as "  # noqa: S608 - quoted paths
            f"select * exclude (filename), substr(filename, {len(str(raw_dir)) + 2}) as raw_file "
            f"from read_parquet([{paths}], union_by_name = true, filename = true)"
        )
        sql.run(con, "staging", "topic_families")
        sql.run(con, "staging", "deliveries")
        sql.run(con, "staging", "quarantine")
        sql.run(con, "staging", "events")
        con.execute(
            "insert into ops.loaded_files "
            "select f.file, f.bytes, coalesce(n.deliveries, 0), ?, ?, ? "
            "from (select unnest(?) as file, unnest(?) as bytes) as f "
            "left join (select raw_file as file, count(*) as deliveries from new_parsed group by 1)"
            " as n using (file)",
            [
                batch_id,
                datetime.now(UTC),
                run_id,
                todo,
                [(raw_dir / f).stat().st_size for f in todo],
            ],
        )
        result.batch_id = batch_id
        result.files = len(todo)
        result.deliveries = scalar(con, "select count(*) from new_parsed")
        result.quarantined = scalar(
            con, "select count(*) from new_parsed where quarantine_reason is not null"
        )
        result.events_touched = scalar(con, "select count(*) from touched_events")
        sql.drop_temp(con)
    return result


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
            for table in sql.CORE_ENTITIES:
                _create_tables(con, table, migrate=False)
                result.versions[table] = result.dropped_versions[table] = 0
        else:
            _merge_changed(con, result, since, changed)
        top = scalar(con, "select max(batch_id) from staging.events")
        set_watermark(con, "core", max(top, since))
        sql.drop_temp(con)
    return result


def _merge_changed(
    con: duckdb.DuckDBPyConnection, result: CoreResult, since: int, changed: str
) -> None:
    """Merge the changed events into every history, then rewrite the current rows they touch."""
    modes = {table: _mode(con, table, since) for table in sql.CORE_ENTITIES}
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
    for table in sql.CORE_ENTITIES:
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
    sql.run(con, "core", "_derived")


ORDER_TABLES = ("orders", "bags", "bag_skus", "payment_transactions")
ORDER_DOCS_SOURCE = "source_events"
CUR_COLUMNS = "tbl varchar, id bigint, event_key varchar"


def _mode(con: duckdb.DuckDBPyConnection, table: str, since: int) -> str:
    """first: no history yet; rederive: a changed event already holds a version of this entity
    (files loaded out of order gave it an earlier first delivery); keep: otherwise."""
    if not since or not sql.table_exists(con, f"core.{table}_history"):
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
    sql.create_table_as(
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
    sql.create_table_as(
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
    for table in sql.CORE_ENTITIES:
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
    for table in sql.CORE_ENTITIES:
        need = f"(select id, event_key from cur_need where tbl = '{table}')"  # noqa: S608
        payloads = sql.body("core", table).replace("{events}", "need_events")
        sql.run(con, "core", "_current", table=table, payloads=payloads.replace("{need}", need))


def build_ops(con: duckdb.DuckDBPyConnection) -> int:
    """Recompute ops.event_counts and ops.delivery_lag for the days new deliveries touched, and
    add the new deliveries to ops.topics."""
    sql.prepare(con)
    with transaction(con):
        since = watermark(con, "ops")
        con.execute(
            "create or replace temp table touched_days as "
            "select distinct utc_day(received_at) as day "
            "from staging.deliveries where batch_id > ?",
            [since],
        )
        days = scalar(con, "select count(*) from touched_days")
        sql.run(con, "ops", "event_counts")
        sql.run(con, "ops", "delivery_lag")
        con.execute(f"set variable ops_since = {int(since)}")
        sql.run(con, "ops", "topics")
        top = scalar(con, "select max(batch_id) from staging.deliveries")
        set_watermark(con, "ops", max(top, since))
        sql.drop_temp(con)
    return days
