"""Topics: every topic violet-webhooks.md documents is modeled as its entity (fixtures of the
documented payloads, through the real server and the real pipeline); new names of a known family
are modeled and reported, bodies of another shape quarantined; ops.topics is kept incrementally
and equals a recount; the staging checks name undocumented topics and new quarantine pairs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import httpx
import pytest

from ingest.records import RawRecord, header_fields
from ingest.sealer import seal
from pipelines import _catalog
from pipelines._checks import RunEvaluate
from pipelines.core import build as core_build
from pipelines.ops import build as ops_build
from pipelines.resources import Warehouse
from pipelines.staging import build as staging_build
from pipelines.staging import checks as staging_checks
from tests.support import Server, make_delivery
from warehouse_files import layout

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "violet"
T0 = 1_795_000_000_000_000

# violet-webhooks.md, "Topics by entity", written out again here so that staging.topics is
# checked against the page and not against itself. Every name is documented (a docs page or
# sample lists it) except TRANSFER_PARTIALLY_REVERSED, which the page has only from code.
DOC_TOPICS: dict[str, tuple[str, ...]] = {
    "order": (
        "ORDER_ACCEPTED", "ORDER_UPDATED", "ORDER_COMPLETED", "ORDER_SHIPPED", "ORDER_DELIVERED",
        "ORDER_REFUNDED", "ORDER_CANCELLED", "ORDER_CANCELED", "ORDER_RETURNED", "ORDER_FAILED",
    ),
    "merchant": (
        "MERCHANT_CONNECTED", "MERCHANT_DISCONNECTED", "MERCHANT_ENABLED", "MERCHANT_DISABLED",
        "MERCHANT_NEEDS_ATTENTION", "MERCHANT_COMPLETE",
    ),
    "offer": ("OFFER_ADDED", "OFFER_UPDATED", "OFFER_REMOVED", "OFFER_DELETED", "OFFER_CREATED"),
    "collection": (
        "COLLECTION_CREATED", "COLLECTION_UPDATED", "COLLECTION_REMOVED",
        "COLLECTION_OFFERS_UPDATED",
    ),
    "sync": (
        "PRODUCT_SYNC_STARTED", "PRODUCT_SYNC_COMPLETED", "PRODUCT_SYNC_FAILED",
        "COLLECTION_SYNC_STARTED", "COLLECTION_SYNC_COMPLETED", "COLLECTION_SYNC_FAILED",
    ),
    "payout_account": (
        "MERCHANT_PAYOUT_ACCOUNT_CREATED", "MERCHANT_PAYOUT_ACCOUNT_REQUIREMENTS_UPDATED",
        "MERCHANT_PAYOUT_ACCOUNT_ACTIVATED", "MERCHANT_PAYOUT_ACCOUNT_DEACTIVATED",
        "MERCHANT_PAYOUT_ACCOUNT_DELETED",
    ),
    "payment_transaction": (
        "PAYMENT_TRANSACTION_CAPTURE_STATUS_UPDATED",
        "PAYMENT_TRANSACTION_CAPTURE_STATUS_AUTHORIZED",
        "PAYMENT_TRANSACTION_CAPTURE_STATUS_CAPTURED",
        "PAYMENT_TRANSACTION_CAPTURE_STATUS_REFUNDED",
        "PAYMENT_TRANSACTION_CAPTURE_STATUS_PARTIALLY_REFUNDED",
        "PAYMENT_TRANSACTION_CAPTURE_STATUS_FAILED",
    ),
    "transfer": (
        "TRANSFER_SENT", "TRANSFER_PARTIALLY_SENT", "TRANSFER_FAILED", "TRANSFER_UPDATED",
        "TRANSFER_REVERSED", "TRANSFER_REVERSAL_FAILED", "TRANSFER_PARTIALLY_REFUNDED",
        "TRANSFER_PARTIALLY_REVERSED",
    ),
}  # fmt: skip
ENTITY_OF = {topic: entity for entity, topics in DOC_TOPICS.items() for topic in topics}
CANONICAL = {
    "ORDER_CANCELED": "ORDER_CANCELLED",
    "TRANSFER_PARTIALLY_REFUNDED": "TRANSFER_PARTIALLY_REVERSED",
}
UNCONFIRMED: set[str] = set()  # every name in violet-webhooks.md counts as documented
CORE_TABLE = {
    "order": "orders",
    "merchant": "merchants",
    "offer": "offers",
    "collection": "collections",
    "sync": "syncs",
    "payout_account": "payout_accounts",
    "payment_transaction": "payment_transactions",
    "transfer": "transfers",
}

# The fields violet-webhooks.md lists as arriving by webhook, per entity ("Entities"): each
# fixture carries exactly these (alternatives: one of the two spellings).
DATES = {"date_created", "date_last_modified"}
FIELDS: dict[str, set[str]] = {
    "order": {
        "id", "app_id", "developer_id", "app_order_id", "app_customer_id", "customer",
        "shipping_address", "billing_address", "payment_method", "bags", "payment_transactions",
        "sub_total", "shipping_total", "tax_total", "discount_total", "total", "currency",
        "status", "channel", "is_guest", "errors", *DATES,
    },
    "bag": {
        "id", "order_id", "merchant_id", "app_id", "external_id", "status",
        "fulfillment_status", "financial_status", "dispute_status", "skus", "fulfillments",
        "shipping_method", "taxes", "discounts", "sub_total", "shipping_total", "tax_total",
        "discount_total", "total", "taxes_included", "commission_rate", "currency",
        "external_currency", "currency_exchange_rate", "channel", "transactions", *DATES,
    },
    "payment_transaction": {
        "id", "order_id", "related_bags", "related_refunds", "payment_provider",
        "payment_provider_transaction_id", "amount", "currency", "capture_status",
        "capture_method", "transfer_status", "transfer_method", "metadata", "errors", *DATES,
    },
    "transfer": {
        "id", "payment_provider_id", "payout_account_id", "amount", "currency", "status",
        "payment_provider", "related_orders", "related_bags", "errors", *DATES,
    },
    "payout_account": {
        "id", "merchant_id", "app_id", "is_active", "country_code", "payment_provider",
        "payment_provider_account_id", "payment_provider_account", "errors", *DATES,
    },
    "merchant": {
        "id", "merchant_name", "platform", "store_url", "status", "connection_status",
        "default_currency", "commission_rate", *DATES,
    },
    "offer": {
        "id", "name", "merchant_id", "available", "visible", "status", "min_price",
        "max_price", "currency", "skus", *DATES,
    },
    "collection": {"id", "merchant_id", "external_id", "name", "type", "handle", *DATES},
    "sync": {"id", "merchant_id", "status", *DATES},
}  # fmt: skip
# Documented alternative spellings: older merchant bodies say name; a transfer may carry the
# newer related_bag_ids instead of related_bags.
ALTERNATIVES = {
    "merchant": {"name": "merchant_name"},
    "transfer": {"related_bag_ids": "related_bags"},
}


def fixture(topic: str) -> bytes:
    return (FIXTURES / f"{topic}.json").read_bytes()


def headers_for(topic: str, body: dict[str, Any]) -> dict[str, str]:
    """The documented headers of the topic (violet-webhooks.md, Headers)."""
    extra: dict[str, str] = {}
    if ENTITY_OF[topic] == "order":
        extra = {
            "X-Violet-Order-Id": str(body["id"]),
            "X-Violet-Bag-Id": str(body["bags"][0]["id"]),
        }
    if ENTITY_OF[topic] == "payout_account":
        extra["X-Violet-Entity-External-Id"] = body["payment_provider_account_id"]
    if topic in ("MERCHANT_ENABLED", "MERCHANT_DISABLED"):
        extra["X-Violet-Reason"] = "APP_INSTALLED_ON_PLATFORM"
    return extra


def record(topic: str | None, body: bytes, event_id: str, i: int, **headers: str) -> RawRecord:
    pairs = [(b"x-violet-event-id", event_id.encode())]
    if topic is not None:
        pairs.append((b"x-violet-topic", topic.encode()))
    pairs += [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    f = header_fields(pairs)
    return RawRecord(*f[:6], f.headers_json, body, "primary", T0 + i * 1_000_000, i)


def result_of(
    evaluate: RunEvaluate, con: duckdb.DuckDBPyConnection, run_id: str
) -> dg.AssetCheckResult:
    return evaluate(con, Warehouse(data_dir="/nonexistent"), run_id)


def by_name(name: str) -> RunEvaluate:
    return next(evaluate for spec, evaluate in staging_checks.STAGING_CHECKS if spec.name == name)


def meta(result: dg.AssetCheckResult, key: str) -> Any:
    return result.metadata[key].value


def test_fixtures_are_the_documented_payloads_one_per_topic() -> None:
    assert sorted(p.stem for p in FIXTURES.glob("*.json")) == sorted(ENTITY_OF)
    spellings: set[str] = set()
    related_kinds: set[type] = set()
    for topic, entity in ENTITY_OF.items():
        body = json.loads(fixture(topic))
        keys = {ALTERNATIVES.get(entity, {}).get(k, k) for k in body}
        assert keys == FIELDS[entity], (topic, keys ^ FIELDS[entity])
        for bag in body.get("bags", []):
            assert set(bag) == FIELDS["bag"], (topic, set(bag) ^ FIELDS["bag"])
        for pt in body.get("payment_transactions", []):
            assert set(pt) == FIELDS["payment_transaction"], topic
        for stamp in (body["date_created"], body["date_last_modified"]):
            spellings.add("+0000" if stamp.endswith("+0000") else "ms" if "." in stamp else "Z")
        for name in ("related_orders", "related_bags", "related_bag_ids"):
            related_kinds |= {type(v) for v in body.get(name, [])}
    assert spellings == {"+0000", "Z", "ms"}, "all three timestamp spellings"
    assert related_kinds == {str, int}, "related ids as strings and as integers"
    assert "related_bag_ids" in json.loads(fixture("TRANSFER_UPDATED"))


def test_staging_topics_are_exactly_the_documented_ones(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        staging_build.load_staging(con, tmp_path / "no-raw")
        rows = con.execute(
            "select topic, entity, canonical_topic, documented from staging.topics"
        ).fetchall()
    assert sorted(rows) == sorted(
        (t, e, CANONICAL.get(t, t), t not in UNCONFIRMED) for t, e in ENTITY_OF.items()
    )


@pytest.mark.e2e
def test_every_documented_topic_through_the_real_server_is_modeled_as_its_entity(
    server: Callable[..., Server], data_dir: Path, tmp_path: Path
) -> None:
    srv = server()
    with httpx.Client(timeout=10) as client:
        for topic in ENTITY_OF:
            body = fixture(topic)
            d = make_delivery(
                topic,
                body=body,
                event_id=f"fx-{topic}",
                drop=("X-Violet-Order-Id", "X-Violet-Bag-Id"),
                extra_headers=headers_for(topic, json.loads(body)),
            )
            r = client.post(f"{srv.url}/webhooks/violet", content=d.body, headers=d.headers)
            assert r.status_code == 200, (topic, r.text)
    srv.stop()

    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        staging_build.load_staging(con, layout.raw_dir(data_dir), run_id="run-1")
        core_build.build_core(con)
        ops_build.build_ops(con)
        assert con.execute("select topic, reason from staging.quarantine").fetchall() == []
        events = {
            d: (t, e, i)
            for d, t, e, i in con.execute(
                "select delivery_id, topic, entity, entity_id from staging.events"
            ).fetchall()
        }
        for topic, entity in ENTITY_OF.items():
            body_id = json.loads(fixture(topic))["id"]
            assert events[f"fx-{topic}"] == (CANONICAL.get(topic, topic), entity, body_id)
            held = con.execute(
                f"select count(*) from core.{CORE_TABLE[entity]} where id = ?", [body_id]
            ).fetchone()
            assert held == (1,), (topic, CORE_TABLE[entity], body_id)
        # Bags and embedded payments of the order bodies are modeled too.
        orders = [json.loads(fixture(t)) for t in DOC_TOPICS["order"]]
        bag_ids = {b["id"] for o in orders for b in o["bags"]}
        core_bags = {i for (i,) in con.execute("select id from core.bags").fetchall()}
        assert bag_ids <= core_bags
        embedded = {p["id"] for o in orders for p in o["payment_transactions"]}
        core_pts = {
            i for (i,) in con.execute("select id from core.payment_transactions").fetchall()
        }
        assert embedded <= core_pts
        seen = {
            t: (e, d, n, q)
            for t, e, d, n, q in con.execute(
                "select topic, entity, documented, deliveries, quarantined from ops.topics"
            ).fetchall()
        }
        assert seen == {t: (e, t not in UNCONFIRMED, 1, 0) for t, e in ENTITY_OF.items()}
        undocumented = result_of(by_name("undocumented_topics"), con, "run-1")
        quarantine = result_of(by_name("quarantine_rate"), con, "run-1")
        # Every staging and ops table and column is described (core and finance: theirs).
        _catalog.apply(con, ("staging", "ops"))
        assert [m for m in _catalog.missing(con) if m.startswith(("staging.", "ops."))] == []
        uncommented = con.execute(
            "select table_name, column_name from duckdb_columns() "
            "where schema_name in ('staging', 'ops') and comment is null"
        ).fetchall()
        assert uncommented == []
    assert meta(undocumented, "topics") == sorted(UNCONFIRMED)
    assert quarantine.passed
    assert meta(quarantine, "new_in_run") == []


# New names of each family (never documented), with a body of the family's entity (a fixture)
# and a body of another entity.
FAMILY_CASES = [
    ("MERCHANT_PAYOUT_ACCOUNT_UPDATED", "payout_account", "MERCHANT_PAYOUT_ACCOUNT_ACTIVATED",
     "OFFER_ADDED"),
    ("PRODUCT_SYNC_CANCELLED", "sync", "PRODUCT_SYNC_STARTED", "TRANSFER_SENT"),
    ("COLLECTION_SYNC_QUEUED", "sync", "COLLECTION_SYNC_STARTED", "MERCHANT_CONNECTED"),
    ("OFFER_SYNC_STARTED", "sync", "PRODUCT_SYNC_COMPLETED",
     "PAYMENT_TRANSACTION_CAPTURE_STATUS_CAPTURED"),
    ("PAYMENT_TRANSACTION_CAPTURE_STATUS_BYPASSED", "payment_transaction",
     "PAYMENT_TRANSACTION_CAPTURE_STATUS_CAPTURED", "ORDER_ACCEPTED"),
    ("ORDER_PARTIALLY_SHIPPED", "order", "ORDER_SHIPPED", "TRANSFER_SENT"),
    ("TRANSFER_RETRIED", "transfer", "TRANSFER_FAILED", "MERCHANT_ENABLED"),
    ("MERCHANT_UPDATED", "merchant", "MERCHANT_CONNECTED", "TRANSFER_SENT"),
    ("OFFER_ARCHIVED", "offer", "OFFER_UPDATED", "PAYMENT_TRANSACTION_CAPTURE_STATUS_FAILED"),
    ("COLLECTION_DELETED", "collection", "COLLECTION_UPDATED", "MERCHANT_DISABLED"),
]  # fmt: skip
NO_FAMILY = ("DISTRIBUTION_CREATED", "DISPUTE_OPENED", "PAYOUT_PAID", "order_updated")


def test_new_names_of_a_known_family_are_modeled_and_reported_others_quarantined(
    tmp_path: Path,
) -> None:
    raw = layout.raw_dir(tmp_path)
    records = []
    for i, (topic, _, good, bad) in enumerate(FAMILY_CASES):
        records.append(record(topic, fixture(good), f"good-{topic}", 2 * i))
        records.append(record(topic, fixture(bad), f"bad-{topic}", 2 * i + 1))
    for j, topic in enumerate(NO_FAMILY):
        records.append(record(topic, fixture("ORDER_UPDATED"), f"none-{topic}", 100 + j))
    seal(records, raw, "t", 1)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        staging_build.load_staging(con, raw, run_id="run-1")
        core_build.build_core(con)
        ops_build.build_ops(con)
        quarantined = dict(
            con.execute("select delivery_id, reason from staging.quarantine").fetchall()
        )
        events = {
            d: (t, e)
            for d, t, e in con.execute(
                "select delivery_id, topic, entity from staging.events "
                "where quarantine_reason is null"
            ).fetchall()
        }
        for topic, entity, good, _ in FAMILY_CASES:
            assert events[f"good-{topic}"] == (topic, entity)
            body_id = json.loads(fixture(good))["id"]
            held = con.execute(
                f"select event_key from core.{CORE_TABLE[entity]} where id = ?", [body_id]
            ).fetchall()
            assert held == [(f"good-{topic}",)], (topic, held)
        topics = {
            t: (e, d, q, r)
            for t, e, d, q, r in con.execute(
                "select topic, entity, documented, quarantined, quarantine_reasons from ops.topics"
            ).fetchall()
        }
        documented = con.execute(
            "select distinct topic_documented from staging.deliveries"
        ).fetchall()
        undocumented = result_of(by_name("undocumented_topics"), con, "run-1")
        quarantine = result_of(by_name("quarantine_rate"), con, "run-1")
    assert quarantined == {
        **{f"bad-{t}": "wrong_shape" for t, *_ in FAMILY_CASES},
        **{f"none-{t}": "unknown_topic" for t in NO_FAMILY},
    }
    assert topics == {
        **{t: (e, False, 1, {"wrong_shape": 1}) for t, e, *_ in FAMILY_CASES},
        **{t: (None, False, 1, {"unknown_topic": 1}) for t in NO_FAMILY},
    }
    assert documented == [(False,)]
    assert not undocumented.passed
    assert undocumented.severity == dg.AssetCheckSeverity.WARN
    names = sorted([*(t for t, *_ in FAMILY_CASES), *NO_FAMILY])
    assert meta(undocumented, "topics") == names
    assert meta(undocumented, "new_in_run") == names
    table = meta(undocumented, "by_topic")
    assert "| ORDER_PARTIALLY_SHIPPED | order |" in table
    assert "| DISPUTE_OPENED | (unknown) |" in table
    assert not quarantine.passed
    assert "| wrong_shape | TRANSFER_RETRIED | 1 | yes |" in meta(quarantine, "by_reason_and_topic")
    assert len(meta(quarantine, "new_in_run")) == len(FAMILY_CASES) + len(NO_FAMILY)


RECOUNT = """
with
reasons as (
    select coalesce(topic, '(none)') as topic, quarantine_reason as reason, count(*) as n,
    from staging.deliveries
    where quarantine_reason is not null
    group by all
),

maps as (
    select topic, map_from_entries(list({'key': reason, 'value': n} order by reason)) as m,
    from reasons
    group by topic
)

select
    coalesce(d.topic, '(none)') as topic,
    any_value(d.canonical_topic) as canonical_topic,
    any_value(d.entity) as entity,
    coalesce(bool_or(d.topic_documented), false) as documented,
    min(d.received_at) as first_seen_at,
    max(d.received_at) as last_seen_at,
    count(*) as deliveries,
    count(distinct d.event_key) as unique_events,
    count_if(d.quarantine_reason is not null) as quarantined,
    coalesce(any_value(m.m), cast(map() as map(varchar, bigint))) as quarantine_reasons,
from staging.deliveries as d
left join maps as m on m.topic = coalesce(d.topic, '(none)')
group by all
"""


def _differs_from_recount(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute(
        f"(select * from ops.topics except all ({RECOUNT})) "
        f"union all (({RECOUNT}) except all select * from ops.topics)"
    ).fetchall()


def _traffic() -> list[list[RawRecord]]:
    """Four files of deliveries: firsts, retries (same id), resends (new id, source set), some
    in later files than their original, quarantined ones, one without a topic."""
    order, transfer = fixture("ORDER_SHIPPED"), fixture("TRANSFER_SENT")
    files: list[list[RawRecord]] = [[], [], [], []]
    i = 0

    def add(f: int, topic: str | None, body: bytes, event_id: str, **headers: str) -> None:
        nonlocal i
        i += 1
        files[f].append(record(topic, body, event_id, i, **headers))

    add(0, "ORDER_SHIPPED", order, "o1")
    add(0, "ORDER_SHIPPED", order, "o1")  # retry
    add(0, "TRANSFER_SENT", transfer, "t1")
    add(0, "ORDER_ARCHIVED", transfer, "w1")  # wrong_shape
    add(1, "ORDER_SHIPPED", order, "o1")  # retry in a later file
    add(1, "ORDER_SHIPPED", order, "o1-resend", x_violet_event_id_source="o1")  # resend
    add(1, "ORDER_CANCELED", fixture("ORDER_CANCELED"), "c1")
    add(1, "ORDER_ARCHIVED", order, "a1")  # a new family name, modeled
    add(1, None, order, "n1")  # no topic
    add(
        2, "ORDER_CANCELLED", fixture("ORDER_CANCELLED"), "c1-resend", x_violet_event_id_source="c1"
    )
    add(2, "DISPUTE_OPENED", transfer, "u1")
    add(2, "ORDER_ARCHIVED", transfer, "w1")  # retry of a wrong_shape
    add(2, "TRANSFER_SENT", b"{not json", "j1")
    add(3, "TRANSFER_SENT", transfer, "t1")  # retry, last
    add(3, "DISPUTE_OPENED", transfer, "u2")
    add(3, None, order, "n1")
    return files


@pytest.mark.parametrize("order", ["in_order", "reversed"])
def test_ops_topics_kept_incrementally_equals_a_recount(tmp_path: Path, order: str) -> None:
    raw = layout.raw_dir(tmp_path)
    files = _traffic()
    segments = list(enumerate(files, 1))
    if order == "reversed":
        segments.reverse()
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        for segment, records in segments:
            seal(records, raw, "t", segment)
            staging_build.load_staging(con, raw, run_id=f"run-{segment}")
            core_build.build_core(con)
            ops_build.build_ops(con)
            assert _differs_from_recount(con) == []
        incremental = con.execute("select * from ops.topics order by topic").fetchall()
        # Running again adds nothing; losing ops' watermark counts nothing twice.
        ops_build.build_ops(con)
        assert con.execute("select * from ops.topics order by topic").fetchall() == incremental
        con.execute("delete from ops.model_state where model = 'ops'")
        ops_build.build_ops(con)
        assert con.execute("select * from ops.topics order by topic").fetchall() == incremental
    with duckdb.connect(str(tmp_path / "scratch.duckdb")) as con:
        staging_build.load_staging(con, raw)
        ops_build.build_ops(con)
        assert con.execute("select * from ops.topics order by topic").fetchall() == incremental
    rows = {r[0]: r for r in incremental}
    assert set(rows) == {
        "ORDER_SHIPPED", "TRANSFER_SENT", "ORDER_ARCHIVED", "ORDER_CANCELED",
        "ORDER_CANCELLED", "(none)", "DISPUTE_OPENED",
    }  # fmt: skip
    # topic, canonical, entity, documented, first, last, deliveries, events, quarantined, reasons
    assert rows["ORDER_SHIPPED"][6:] == (4, 1, 0, {})
    assert rows["TRANSFER_SENT"][6:] == (3, 2, 1, {"invalid_json": 1})
    assert rows["ORDER_ARCHIVED"][2:4] == ("order", False)
    assert rows["ORDER_ARCHIVED"][6:] == (3, 2, 2, {"wrong_shape": 2})
    assert rows["ORDER_CANCELED"][1:4] == ("ORDER_CANCELLED", "order", True)
    assert rows["(none)"][1:4] == (None, None, False)
    assert rows["(none)"][6:] == (2, 1, 2, {"missing_topic": 2})
    assert rows["DISPUTE_OPENED"][6:] == (2, 2, 2, {"unknown_topic": 2})


def test_an_older_warehouse_gains_topic_documented_and_ops_topics(tmp_path: Path) -> None:
    """A warehouse built before topic_documented and ops.topics: the column is filled for the
    rows it holds and ops.topics counts every stored delivery, not only new ones."""
    raw = layout.raw_dir(tmp_path)
    files = _traffic()
    seal(files[0], raw, "t", 1)
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        staging_build.load_staging(con, raw)
        ops_build.build_ops(con)
        con.execute("alter table staging.deliveries drop column topic_documented")
        con.execute("drop table ops.topics")
        seal(files[1], raw, "t", 2)
        staging_build.load_staging(con, raw)
        ops_build.build_ops(con)
        assert _differs_from_recount(con) == []
        nulls = con.execute(
            "select count(*) from staging.deliveries where topic_documented is null"
        ).fetchone()
        assert nulls == (0,)
        assert con.execute(
            "select deliveries from ops.topics where topic = 'ORDER_SHIPPED'"
        ).fetchall() == [(4,)]


def test_quarantine_rate_names_the_pairs_new_in_this_run(tmp_path: Path) -> None:
    raw = layout.raw_dir(tmp_path)
    files = _traffic()
    rate = by_name("quarantine_rate")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        seal(files[0], raw, "t", 1)
        staging_build.load_staging(con, raw, run_id="run-1")
        first = result_of(rate, con, "run-1")
        seal(files[1], raw, "t", 2)
        staging_build.load_staging(con, raw, run_id="run-2")
        second = result_of(rate, con, "run-2")
        nothing = result_of(rate, con, "run-3")  # a run that loaded nothing
    assert meta(first, "new_in_run") == [{"reason": "wrong_shape", "topic": "ORDER_ARCHIVED"}]
    assert meta(second, "new_in_run") == [{"reason": "missing_topic", "topic": "(none)"}]
    assert meta(nothing, "new_in_run") == []
    table = meta(second, "by_reason_and_topic")
    assert "| missing_topic | (none) | 1 | yes |" in table
    assert "| wrong_shape | ORDER_ARCHIVED | 1 |  |" in table
    assert not first.passed  # 25 % quarantined, and a new pair
    assert not second.passed


def test_a_dagster_run_reports_topics_and_quarantine_pairs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks as the job runs them: registered in staging_health, with the run's own id."""
    from pipelines.definitions import defs

    data_dir = tmp_path / "data"
    raw = layout.raw_dir(data_dir)
    seal([record("ORDER_ARCHIVED", fixture("ORDER_SHIPPED"), "a1", 1)], raw, "t", 1)
    seal([record("ORDER_ARCHIVED", fixture("TRANSFER_SENT"), "w1", 2)], raw, "t", 2)
    monkeypatch.setenv("VIOLET_DATA_DIR", str(data_dir))
    result = defs.resolve_job_def("warehouse_job").execute_in_process(raise_on_error=False)
    evaluations = {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.asset_check_evaluation_data
    }
    undocumented = evaluations["undocumented_topics"]
    quarantine = evaluations["quarantine_rate"]
    assert not undocumented.passed
    assert undocumented.metadata["new_in_run"].value == ["ORDER_ARCHIVED"]
    assert quarantine.metadata["new_in_run"].value == [
        {"reason": "wrong_shape", "topic": "ORDER_ARCHIVED"}
    ]
    topics = next(
        m
        for m in result.asset_materializations_for_node("ops_health")
        if m.asset_key == dg.AssetKey(["ops", "topics"])
    )
    assert topics.metadata["undocumented_topics"].value == ["ORDER_ARCHIVED"]
