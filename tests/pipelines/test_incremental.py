"""Incremental loads give exactly what a full build gives, and never go backwards in time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb

from ingest.records import RawRecord, header_fields
from ingest.sealer import seal
from pipelines import _db
from pipelines.core import build as core_build
from pipelines.core.entities import CORE_ENTITIES
from pipelines.ops import build as ops_build
from pipelines.staging import build as staging_build
from warehouse_files import layout

from .conftest import World, build

# Columns that record *when/how* a row was loaded rather than what it says.
LOAD_COLUMNS = {"batch_id", "loaded_at", "run_id", "updated_at"}


def tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        f"{s}.{t}"
        for s, t in con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where schema_name in ('staging', 'core', 'ops') and table_name <> 'model_state' "
            "order by all"
        ).fetchall()
    ]


def differences(a: Path, b: Path) -> dict[str, int]:
    """Rows in one warehouse and not the other, per table (load bookkeeping aside)."""
    out: dict[str, int] = {}
    with duckdb.connect(str(a), read_only=True) as con:
        con.execute("attach ? as other (read_only)", [str(b)])
        mine = tables(con)
        con.execute("use other")
        theirs = tables(con)
        con.execute(f"use {a.stem}")
        assert mine == theirs
        first = a.stem
        for table in mine:
            cols = [
                c
                for (c,) in con.execute(
                    "select column_name from duckdb_columns() where database_name = ? "
                    "and schema_name || '.' || table_name = ? order by column_index",
                    [first, table],
                ).fetchall()
                if c not in LOAD_COLUMNS
            ]
            select = ", ".join(f'"{c}"' for c in cols)
            n = con.execute(
                f"select count(*) from ((select {select} from {first}.{table} "
                f"except all select {select} from other.{table}) union all "
                f"(select {select} from other.{table} "
                f"except all select {select} from {first}.{table}))"
            ).fetchone()
            if n and n[0]:
                out[table] = int(n[0])
    return out


def test_loading_in_many_batches_equals_one_full_build(
    world: World, built: Path, tmp_path: Path
) -> None:
    files = staging_build.raw_files(world.raw_dir)
    assert len(files) >= 4, "the world should span several raw files"
    path = tmp_path / "batched.duckdb"
    with duckdb.connect(str(path)) as con:
        # Core and ops run after every single-file load, as the sensor would make them.
        while staging_build.load_staging(con, world.raw_dir, max_files=1).files:
            core_build.build_core(con)
            ops_build.build_ops(con)
        batches = con.execute("select count(distinct batch_id) from ops.loaded_files").fetchone()
    assert batches == (len(files),)
    assert differences(path, built) == {}


def test_files_arriving_out_of_order_give_the_same_tables(
    world: World, built: Path, tmp_path: Path
) -> None:
    raw = tmp_path / "raw"
    files = staging_build.raw_files(world.raw_dir)
    path = tmp_path / "reversed.duckdb"
    with duckdb.connect(str(path)) as con:
        for name in reversed(files):  # newest file first, as a slow ingest instance might
            (raw / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(world.raw_dir / name, raw / name)
            staging_build.load_staging(con, raw)
            core_build.build_core(con)
        ops_build.build_ops(con)
    assert differences(path, built) == {}


def test_running_again_changes_nothing(world: World, built: Path, tmp_path: Path) -> None:
    path = tmp_path / "again.duckdb"
    shutil.copy2(built, path)
    with duckdb.connect(str(path)) as con:
        build(con, world.raw_dir)
        assert staging_build.load_staging(con, world.raw_dir).files == 0
        con.execute("delete from ops.model_state")  # even with lost watermarks
        core_build.build_core(con)
        ops_build.build_ops(con)
    assert differences(path, built) == {}


def test_a_warehouse_of_the_older_layout_is_brought_to_the_current_one(
    world: World, built: Path, tmp_path: Path
) -> None:
    """Warehouses built before history rows lost their payload and deliveries their headers
    (and before quarantine kept headers) are migrated by the next run, with the same tables."""
    path = tmp_path / "old.duckdb"
    shutil.copy2(built, path)
    with duckdb.connect(str(path)) as con:
        con.execute("alter table staging.deliveries add column headers varchar")
        con.execute("alter table staging.quarantine drop column headers")
        for table in CORE_ENTITIES:
            con.execute(f"alter table core.{table}_history add column payload json")
        con.execute("delete from ops.model_state")  # a full core pass over the old tables
        build(con, world.raw_dir)
        old_columns = con.execute(
            "select count(*) from duckdb_columns() where (table_name = 'deliveries' "
            "and column_name = 'headers') or (table_name like '%_history' "
            "and column_name = 'payload')"
        ).fetchone()
    assert old_columns == (0,)
    # Quarantine rows stored before the migration have no headers; everything else is equal.
    assert set(differences(path, built)) <= {"staging.quarantine"}


def _order_delivery(event_id: str, status: str, dlm: str, received_us: int, seq: int) -> RawRecord:
    body = json.dumps(
        {
            "id": 777,
            "status": status,
            "total": 100,
            "currency": "USD",
            "bags": [],
            "payment_transactions": [],
            "date_last_modified": dlm,
        }
    ).encode()
    f = header_fields(
        [(b"x-violet-topic", b"ORDER_UPDATED"), (b"x-violet-event-id", event_id.encode())]
    )
    return RawRecord(*f[:6], f.headers_json, body, "primary", received_us, seq)


def test_an_older_update_delivered_last_lands_in_history_only(tmp_path: Path) -> None:
    raw = layout.raw_dir(tmp_path)
    t0 = 1_795_300_000_000_000
    newer = _order_delivery("e-new", "COMPLETED", "2026-11-20T10:00:00Z", t0, 1)
    older = _order_delivery("e-old", "ACCEPTED", "2026-11-20T09:00:00+0000", t0 + 5_000_000, 2)
    seal([newer], raw, "t", 1)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        build(con, raw)
        seal([older], raw, "t", 2)  # arrives later, describes an earlier version
        build(con, raw)
        current = con.execute("select status from core.orders where id = 777").fetchall()
        history = con.execute(
            "select status, is_current, valid_to is null from core.orders_history "
            "where id = 777 order by valid_from"
        ).fetchall()
    assert current == [("COMPLETED",)]
    assert history == [("ACCEPTED", False, False), ("COMPLETED", True, True)]


def test_same_version_twice_is_one_history_row(tmp_path: Path) -> None:
    raw = layout.raw_dir(tmp_path)
    t0 = 1_795_300_000_000_000
    a = _order_delivery("e-a", "ACCEPTED", "2026-11-20T09:00:00Z", t0, 1)
    b = _order_delivery("e-b", "ACCEPTED", "2026-11-20T09:00:00Z", t0 + 1, 2)
    seal([a, b], raw, "t", 1)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        build(con, raw)
        n = con.execute("select count(*) from core.orders_history where id = 777").fetchone()
        assert n == (1,)
        assert con.execute("select count(*) from staging.events").fetchone() == (2,)


def test_every_core_table_exists_before_any_data(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        build(con, tmp_path / "no-raw-yet")
        for table in CORE_ENTITIES:
            assert con.execute(f"select count(*) from core.{table}").fetchone() == (0,)


def _resend(
    record: RawRecord, delivery_id: str, source_id: str, received_us: int, seq: int
) -> RawRecord:
    f = header_fields(
        [
            (b"x-violet-topic", b"ORDER_UPDATED"),
            (b"x-violet-event-id", delivery_id.encode()),
            (b"x-violet-event-id-source", source_id.encode()),
        ]
    )
    return RawRecord(*f[:6], f.headers_json, record.body, "primary", received_us, seq)


def test_a_late_retry_updates_the_counts_not_the_event(tmp_path: Path) -> None:
    raw = layout.raw_dir(tmp_path)
    t0 = 1_795_300_000_000_000
    first = _order_delivery("e-a", "ACCEPTED", "2026-11-20T09:00:00Z", t0, 1)
    retry = _order_delivery("e-a", "ACCEPTED", "2026-11-20T09:00:00Z", t0 + 9_000_000, 2)
    seal([first], raw, "t", 1)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        build(con, raw)
        seal([retry], raw, "t", 2)
        build(con, raw)
        event = con.execute(
            "select received_at, n_deliveries, n_retries, batch_id from staging.events"
        ).fetchall()
        versions = con.execute("select count(*) from core.orders_history").fetchone()
    assert [(n, r, b) for _, n, r, b in event] == [(2, 1, 1)]  # core sees no changed event
    assert versions == (1,)


def test_an_earlier_delivery_loaded_late_can_change_which_event_wins(tmp_path: Path) -> None:
    """Same order version in events k and k2; k first arrives after k2, so k wins the tie (latest
    received), until a file loaded late brings an earlier delivery of k: then k2 wins, as in a
    build from scratch."""
    raw = layout.raw_dir(tmp_path)
    t0 = 1_795_300_000_000_000
    dlm = "2026-11-20T09:00:00Z"
    k_early = _resend(_order_delivery("x", "ACCEPTED", dlm, 0, 0), "d0", "k", t0, 1)
    k2 = _order_delivery("k2", "PROCESSING", dlm, t0 + 5_000_000, 2)
    k_late = _resend(k_early, "d1", "k", t0 + 10_000_000, 3)
    seal([k2, k_late], raw, "t", 2)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        build(con, raw)
        assert con.execute("select event_key from core.orders").fetchall() == [("k",)]
        seal([k_early], raw, "t", 1)
        build(con, raw)
        rows = con.execute("select event_key, status from core.orders_history").fetchall()
    assert rows == [("k2", "PROCESSING")]
    scratch = tmp_path / "scratch.duckdb"
    with duckdb.connect(str(scratch)) as con:
        build(con, raw)
    assert differences(tmp_path / "w.duckdb", scratch) == {}


def test_a_batch_with_nothing_for_core_changes_nothing_and_skips_nothing(tmp_path: Path) -> None:
    raw = layout.raw_dir(tmp_path)
    t0 = 1_795_300_000_000_000
    seal([_order_delivery("e-a", "ACCEPTED", "2026-11-20T09:00:00Z", t0, 1)], raw, "t", 1)
    good = _order_delivery("e-b", "COMPLETED", "2026-11-20T10:00:00Z", t0 + 1, 2)
    bad = good._replace(body=b'{"id": 777, "status": ', delivery_id="e-bad")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        build(con, raw)
        seal([bad], raw, "t", 2)  # only a delivery that is quarantined
        build(con, raw)
        assert con.execute("select reason from staging.quarantine").fetchall() == [
            ("invalid_json",)
        ]
        assert _db.watermark(con, "core") == 2
        assert con.execute("select status from core.orders").fetchall() == [("ACCEPTED",)]
        seal([good], raw, "t", 3)
        build(con, raw)
        history = con.execute(
            "select status, is_current from core.orders_history order by valid_from"
        ).fetchall()
    assert history == [("ACCEPTED", False), ("COMPLETED", True)]
