"""The warehouse built from a simulated world equals the simulator's truth."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.core.entities import CORE_ENTITIES

from .conftest import World

# truth table -> (its id column, the columns that must equal core's, same names)
COMPARED = {
    "orders": ("order_id", ["status", "currency", "sub_total_minor", "shipping_total_minor",
                            "tax_total_minor", "discount_total_minor", "total_minor", "bag_count",
                            "date_last_modified"]),
    "bags": ("bag_id", ["order_id", "merchant_id", "status", "fulfillment_status",
                        "financial_status", "currency", "sub_total_minor", "shipping_total_minor",
                        "tax_total_minor", "discount_total_minor", "total_minor",
                        "date_last_modified"]),
    "bag_skus": ("bag_sku_id", ["bag_id", "order_id", "sku_id", "offer_id", "quantity",
                                "price_minor", "line_price_minor"]),
    "payment_transactions": ("payment_transaction_id", ["order_id", "capture_status", "currency",
                                                        "amount_minor", "date_last_modified"]),
    "transfers": ("transfer_id", ["merchant_id", "payout_account_id", "status", "currency",
                                  "amount_minor", "date_last_modified"]),
    "merchants": ("merchant_id", ["merchant_name", "platform", "status", "connection_status",
                                  "default_currency", "date_last_modified"]),
    "offers": ("offer_id", ["merchant_id", "name", "status", "available", "visible", "currency",
                            "min_price_minor", "max_price_minor", "sku_count",
                            "date_last_modified"]),
    "collections": ("collection_id", ["merchant_id", "name", "type", "handle",
                                      "date_last_modified"]),
    "syncs": ("sync_id", ["merchant_id", "status", "date_last_modified"]),
    "payout_accounts": ("payout_account_id", ["merchant_id", "is_active", "charges_enabled",
                                              "payouts_enabled", "date_last_modified"]),
}  # fmt: skip


def test_every_entity_is_compared() -> None:
    assert set(COMPARED) == set(CORE_ENTITIES)


@pytest.mark.parametrize("table", sorted(COMPARED))
def test_current_state_equals_the_truth(world: World, built: Path, table: str) -> None:
    id_col, cols = COMPARED[table]
    truth = world.truth_dir / f"{table}.parquet"
    assert pq.read_table(truth).num_rows > 0, f"the world has no {table}: the test proves nothing"
    select = ", ".join(cols)
    with duckdb.connect(str(built), read_only=True) as con:
        core_only = con.execute(
            f"select id, {select} from core.{table} "
            f"except select {id_col}, {select} from read_parquet(?)",
            [str(truth)],
        ).fetchall()
        truth_only = con.execute(
            f"select {id_col}, {select} from read_parquet(?) "
            f"except select id, {select} from core.{table}",
            [str(truth)],
        ).fetchall()
    assert truth_only == [], f"{len(truth_only)} truth rows differ or are missing"
    assert core_only == [], f"{len(core_only)} core rows differ or are extra"


def test_unique_events_equal_the_truth(world: World, built: Path) -> None:
    summary = json.loads((world.truth_dir / "summary.json").read_text())
    with duckdb.connect(str(built), read_only=True) as con:
        events = con.execute("select count(*) from staging.events").fetchone()
        deliveries = con.execute("select count(*) from staging.deliveries").fetchone()
        by_topic = dict(
            con.execute("select topic, count(*) from staging.events group by 1").fetchall()
        )
    assert events == (summary["logical_events"],)
    assert deliveries == (summary["genuine_stored_deliveries"],)
    canonical = {
        "ORDER_CANCELED": "ORDER_CANCELLED",
        "TRANSFER_PARTIALLY_REFUNDED": "TRANSFER_PARTIALLY_REVERSED",
    }
    expected: dict[str, int] = {}
    for topic, n in summary["logical_events_by_topic"].items():
        expected[canonical.get(topic, topic)] = expected.get(canonical.get(topic, topic), 0) + n
    modeled = {t: n for t, n in by_topic.items() if t is not None}
    assert all(expected.get(t) == n for t, n in modeled.items()), (modeled, expected)


def test_bad_deliveries_are_quarantined_with_their_reason(world: World, built: Path) -> None:
    summary = json.loads((world.truth_dir / "summary.json").read_text())
    bad = summary["bad_deliveries"]
    with duckdb.connect(str(built), read_only=True) as con:
        reasons = dict(
            con.execute("select reason, count(*) from staging.quarantine group by 1").fetchall()
        )
    assert reasons.get("invalid_json", 0) == bad["not_json"]
    assert reasons.get("unknown_topic", 0) == bad["unknown_topic"]
    assert reasons.get("missing_topic", 0) == bad["missing_topic"]
    assert bad["not_json"] + bad["unknown_topic"] > 0, "the world has no bad deliveries"


def test_retries_and_resends_are_classified(world: World, built: Path) -> None:
    with duckdb.connect(str(built), read_only=True) as con:
        kinds = dict(
            con.execute(
                "select delivery_kind, count(*) from staging.deliveries group by 1"
            ).fetchall()
        )
        resend_sources = con.execute(
            "select count(*) from staging.deliveries "
            "where delivery_kind = 'resend' and source_event_id is null"
        ).fetchone()
    assert kinds["retry"] > 0
    assert kinds["resend"] > 0
    assert resend_sources == (0,)


def test_every_history_has_one_current_version_per_id(built: Path) -> None:
    with duckdb.connect(str(built), read_only=True) as con:
        for table in CORE_ENTITIES:
            bad = con.execute(
                f"select count(*) from (select id from core.{table}_history group by id "
                "having count_if(is_current) <> 1)"
            ).fetchone()
            assert bad == (0,), table
            versions, ids = con.execute(
                f"select count(*), count(distinct id) from core.{table}_history"
            ).fetchone() or (0, 0)
            assert versions >= ids


TOP_LEVEL = {
    "orders": "order",
    "transfers": "transfer",
    "offers": "offer",
    "collections": "collection",
    "payout_accounts": "payout_account",
}


@pytest.mark.parametrize("table", sorted(TOP_LEVEL))
def test_each_history_has_one_row_per_distinct_version_sent(
    world: World, built: Path, table: str
) -> None:
    """Counted independently from the raw bodies: distinct (id, instant of date_last_modified)."""
    entity = TOP_LEVEL[table]
    with duckdb.connect(str(built), read_only=True) as con:
        expected = con.execute(
            """
            select count(*) from (
                select distinct
                    json_extract(decode(body), '$.id')::bigint as id,
                    cast(json_extract_string(decode(body), '$.date_last_modified')
                        as timestamptz) as dlm
                from read_parquet(?)
                where topic in (select topic from staging.topics where entity = ?)
                    and json_valid(decode(body))
            )
            """,
            [str(world.raw_dir / "*" / "*.parquet"), entity],
        ).fetchone()
        versions = con.execute(f"select count(*) from core.{table}_history").fetchone()
    assert expected is not None
    assert expected[0] > 0
    assert versions == expected


@pytest.mark.parametrize("table", CORE_ENTITIES)
def test_current_payload_is_the_current_versions_json(built: Path, table: str) -> None:
    """History rows are typed only; current rows carry the JSON of their version: its id, and
    (bag lines aside: they have no clock of their own) its date_last_modified."""
    with duckdb.connect(str(built), read_only=True) as con:
        rows, no_payload, wrong_id, wrong_clock = con.execute(
            f"""
            select
                count(*),
                count(*) filter (where payload is null),
                count(*) filter (where payload ->> '$.id' <> id::varchar),
                count(*) filter (where '{table}' <> 'bag_skus'
                    and violet_ts(payload ->> '$.date_last_modified') <> date_last_modified),
            from core.{table}
            """
        ).fetchone() or (0, 0, 0, 0)
        history_columns = {
            c
            for (c,) in con.execute(
                "select column_name from duckdb_columns() where schema_name = 'core' "
                "and table_name = ?",
                [f"{table}_history"],
            ).fetchall()
        }
    assert rows > 0
    assert (no_payload, wrong_id, wrong_clock) == (0, 0, 0)
    assert "payload" not in history_columns


def test_event_counts_count_every_delivery_and_each_event_once(built: Path) -> None:
    """ops.event_counts against counts made another way from staging.deliveries alone: an event
    counts once, on the day and under the topic of its first delivery, unless that delivery is
    quarantined."""
    with duckdb.connect(str(built), read_only=True) as con:
        got = con.execute(
            "select day, topic, deliveries, unique_events, retries, resends, quarantined "
            "from ops.event_counts order by all"
        ).fetchall()
        expected = con.execute(
            """
            with d as (
                select *, cast(received_at at time zone 'UTC' as date) as day,
                    coalesce(canonical_topic, topic, '(none)') as t,
                    row_number() over (partition by event_key
                        order by received_at, ingest_instance, sequence) = 1 as is_first,
                from staging.deliveries
            )
            select day, t, count(*), count_if(is_first and quarantine_reason is null),
                count_if(delivery_kind = 'retry'), count_if(delivery_kind = 'resend'),
                count_if(quarantine_reason is not null)
            from d group by all order by all
            """
        ).fetchall()
        events = con.execute(
            "select count(*) from staging.events where quarantine_reason is null"
        ).fetchone()
    assert got == expected
    assert events is not None
    assert sum(row[3] for row in got) == events[0] > 0
