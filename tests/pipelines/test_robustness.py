"""Odd but signed deliveries (issue 12): every typed value of a body is range- and type-checked at
the door, so each odd delivery becomes one staging.quarantine row with a precise reason and the
field it concerns (`detail`), never a failed run; the good deliveries of the same batch build
exactly the tables they build alone; a version dated too far after its receipt never becomes
current state; core's own casts never raise, whatever an event holds."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingest.records import RawRecord, header_fields
from ingest.sealer import seal
from pipelines import _catalog
from pipelines import _sql as sql
from pipelines.core import build as core_build
from pipelines.core import checks as core_checks
from pipelines.core.entities import CORE_ENTITIES
from pipelines.finance.build import build_finance
from pipelines.ops import build as ops_build
from pipelines.resources import FinanceSettings, Warehouse
from pipelines.staging import build as staging_build
from pipelines.staging import checks as staging_checks
from warehouse_files import layout

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "violet"
QUARANTINE_SQL = Path(sql.SQL_DIR) / "staging" / "quarantine.sql"
# received_at of the first delivery: 2026-11-18, after every fixture's dates.
T0 = 1_795_000_000_000_000
AS_OF = "2026-11-20T00:00:00+00:00"
DUPLICATE = "__duplicate_key__"
DROP = object()

TABLES = [f"core.{t}" for t in CORE_ENTITIES] + [f"core.{t}_history" for t in CORE_ENTITIES]
FINANCE = ["finance.order_payments", "finance.bag_settlements", "finance.merchant_balances"]


def fixture(topic: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FIXTURES / f"{topic}.json").read_bytes())
    return doc


def record(
    topic: str, body: bytes, event_id: str, i: int, received_us: int | None = None
) -> RawRecord:
    f = header_fields(
        [(b"x-violet-event-id", event_id.encode()), (b"x-violet-topic", topic.encode())]
    )
    at = T0 + i * 1_000_000 if received_us is None else received_us
    return RawRecord(*f[:6], f.headers_json, body, "primary", at, i)


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    return [int(i or k) if (i or k).isdigit() else k for k, i in _STEP.findall(path)]


def changed(topic: str, **paths: Any) -> bytes:
    """The topic's fixture with values changed; keys are paths ('bags__0__skus__0__price' spelled
    as keyword arguments: '__' between steps), DROP removes a field."""
    doc = fixture(topic)
    for spelled, value in paths.items():
        steps = _steps(spelled.replace("__", "."))
        node: Any = doc
        for step in steps[:-1]:
            node = node[step]
        if value is DROP:
            del node[steps[-1]]
        else:
            node[steps[-1]] = value
    return json.dumps(doc).encode()


def duplicated(topic: str, path: str, value: Any) -> bytes:
    """The fixture with the key at `path` written twice: first as it is, then with `value` (what
    Python's json would read; DuckDB's parser reads the first)."""
    doc = fixture(topic)
    steps = _steps(path)
    node: Any = doc
    for step in steps[:-1]:
        node = node[step]
    node[DUPLICATE] = value
    return json.dumps(doc).replace(f'"{DUPLICATE}"', f'"{steps[-1]}"').encode()


def raw(topic: str, path: str, text: str) -> bytes:
    """The fixture with the value at `path` written as `text` (a JSON literal Python would not
    write, such as 1e400)."""
    doc = fixture(topic)
    steps = _steps(path)
    node: Any = doc
    for step in steps[:-1]:
        node = node[step]
    node[steps[-1]] = DUPLICATE
    return json.dumps(doc).replace(f'"{DUPLICATE}"', text).encode()


def appended_bag_copy() -> bytes:
    doc = fixture("ORDER_UPDATED")
    doc["bags"].append(copy.deepcopy(doc["bags"][0]))
    return json.dumps(doc).encode()


def appended_sku_copy() -> bytes:
    doc = fixture("ORDER_UPDATED")
    doc["bags"][0]["skus"].append(copy.deepcopy(doc["bags"][0]["skus"][0]))
    return json.dumps(doc).encode()


@dataclass(frozen=True)
class Case:
    name: str
    topic: str
    body: bytes
    reason: str
    detail: str | None


ORD, TRF, PAY = "ORDER_UPDATED", "TRANSFER_SENT", "PAYMENT_TRANSACTION_CAPTURE_STATUS_CAPTURED"
ACC, SYN = "MERCHANT_PAYOUT_ACCOUNT_ACTIVATED", "PRODUCT_SYNC_COMPLETED"
BIG = 10**23
CASES = [
    # ids: integers from 1 to 2^63 - 1
    Case("order_id_2_pow_63", ORD, changed(ORD, id=2**63), "id_out_of_range", "id"),
    Case("order_id_zero", ORD, changed(ORD, id=0), "id_out_of_range", "id"),
    Case("order_id_negative", ORD, changed(ORD, id=-5), "id_out_of_range", "id"),
    Case("order_id_string", ORD, changed(ORD, id="500102"), "wrong_type", "id"),
    Case("order_id_float", ORD, changed(ORD, id=1.5), "wrong_type", "id"),
    Case("order_id_missing", ORD, changed(ORD, id=DROP), "missing_id", "id"),
    Case("bag_id_10_pow_20", ORD, changed(ORD, bags__0__id=10**20), "id_out_of_range",
         "bags[0].id"),
    Case("bag_id_null", ORD, changed(ORD, bags__0__id=None), "missing_id", "bags[0].id"),
    Case("bag_id_text", ORD, changed(ORD, bags__0__id="abc"), "wrong_type", "bags[0].id"),
    Case("bag_merchant_id_zero", ORD, changed(ORD, bags__0__merchant_id=0), "id_out_of_range",
         "bags[0].merchant_id"),
    Case("sku_id_text", ORD, changed(ORD, bags__0__skus__0__id="x"), "wrong_type",
         "bags[0].skus[0].id"),
    Case("sku_id_missing", ORD, changed(ORD, bags__0__skus__0__id=DROP), "missing_id",
         "bags[0].skus[0].id"),
    Case("payment_id_huge", ORD, changed(ORD, payment_transactions__0__id=2**64), "id_out_of_range",
         "payment_transactions[0].id"),
    Case("transfer_payout_account_2_pow_64", TRF, changed(TRF, payout_account_id=2**64),
         "id_out_of_range", "payout_account_id"),
    Case("transfer_related_bag_text", TRF, changed(TRF, related_bags=["x"]), "wrong_type",
         "related_bags[0]"),
    Case("transfer_related_order_negative", TRF, changed(TRF, related_orders=["-1"]),
         "id_out_of_range",
         "related_orders[0]"),
    Case("payout_account_merchant_2_pow_63", ACC, changed(ACC, merchant_id=2**63),
         "id_out_of_range",
         "merchant_id"),
    Case("sync_merchant_2_pow_63", SYN, changed(SYN, merchant_id=2**63), "id_out_of_range",
         "merchant_id"),
    # money: integer minor units, at most 10^15 either way
    Case("order_total_10_pow_23", ORD, changed(ORD, total=BIG), "money_out_of_range", "total"),
    Case("order_total_float", ORD, changed(ORD, total=12.5), "wrong_type", "total"),
    Case("order_total_string", ORD, changed(ORD, total="4970"), "wrong_type", "total"),
    Case("bag_total_10_pow_20", ORD, changed(ORD, bags__0__total=10**20), "money_out_of_range",
         "bags[0].total"),
    Case("sku_price_10_pow_23", ORD, changed(ORD, bags__0__skus__0__price=BIG),
         "money_out_of_range",
         "bags[0].skus[0].price"),
    Case("payment_amount_10_pow_23", ORD, changed(ORD, payment_transactions__0__amount=BIG),
         "money_out_of_range", "payment_transactions[0].amount"),
    Case("transfer_amount_negative", TRF, changed(TRF, amount=-5), "money_out_of_range",
         "amount"),
    Case("bag_sub_total_negative", ORD, changed(ORD, bags__0__sub_total=-5),
         "money_out_of_range", "bags[0].sub_total"),
    Case("transfer_amount_missing", "TRANSFER_FAILED", changed("TRANSFER_FAILED", amount=DROP),
         "missing_field", "amount"),
    Case("transfer_currency_null", TRF, changed(TRF, currency=None), "missing_field",
         "currency"),
    # finance reconciles every order (CAPTURE_MISSING of an order without payment is its total)
    Case("order_total_missing", ORD, changed(ORD, total=DROP), "missing_field", "total"),
    Case("order_currency_null", ORD, changed(ORD, currency=None), "missing_field", "currency"),
    Case("transfer_amount_10_pow_23", TRF, changed(TRF, amount=BIG), "money_out_of_range",
         "amount"),
    Case("payment_topic_amount_string", PAY, changed(PAY, amount="6670"), "wrong_type", "amount"),
    Case("offer_min_price_1e400", "OFFER_UPDATED", raw("OFFER_UPDATED", "min_price", "1e400"),
         "wrong_type", "min_price"),
    # other numbers and booleans
    Case("sku_quantity_negative", ORD, changed(ORD, bags__0__skus__0__quantity=-1),
         "number_out_of_range", "bags[0].skus[0].quantity"),
    Case("bag_commission_rate_1000", ORD, changed(ORD, bags__0__commission_rate=1000),
         "number_out_of_range", "bags[0].commission_rate"),
    Case("merchant_commission_rate_text", "MERCHANT_CONNECTED",
         changed("MERCHANT_CONNECTED", commission_rate="abc"), "wrong_type", "commission_rate"),
    Case("sync_total_products_negative", SYN, changed(SYN, total_products=-3),
         "number_out_of_range",
         "total_products"),
    Case("payout_account_is_active_text", ACC, changed(ACC, is_active="yes"), "wrong_type",
         "is_active"),
    Case("offer_available_text", "OFFER_UPDATED", changed("OFFER_UPDATED", available="maybe"),
         "wrong_type", "available"),
    # lists and objects
    Case("bags_object", ORD, changed(ORD, bags={}), "wrong_type", "bags"),
    Case("bag_not_an_object", ORD, changed(ORD, bags=[5]), "wrong_type", "bags[0]"),
    Case("skus_object", ORD, changed(ORD, bags__0__skus={}), "wrong_type", "bags[0].skus"),
    Case("refunds_object", ORD, changed(ORD, bags__0__refunds={}), "wrong_type", "bags[0].refunds"),
    Case("payment_transactions_object", ORD, changed(ORD, payment_transactions={}), "wrong_type",
         "payment_transactions"),
    Case("payment_related_bags_object", ORD, changed(ORD, payment_transactions__0__related_bags={}),
         "wrong_type", "payment_transactions[0].related_bags"),
    Case("transfer_related_bags_object", TRF, changed(TRF, related_bags={}), "wrong_type",
         "related_bags"),
    Case("transfer_errors_object", TRF, changed(TRF, errors={}), "wrong_type", "errors"),
    Case("transfer_error_date_text", TRF,
         changed(TRF, errors=[{"error_code": 4460, "date_created": "yesterday"}]),
         "bad_timestamp", "errors[0].date_created"),
    Case("refund_amount_10_pow_23", ORD, changed(ORD, bags__0__refunds=[{"id": 1, "amount": BIG}]),
         "money_out_of_range", "bags[0].refunds[0].amount"),
    Case("payment_topic_related_refunds_object", PAY, changed(PAY, related_refunds={}),
         "wrong_type",
         "related_refunds"),
    Case("payout_account_currently_due_object", ACC,
         changed(ACC, payment_provider_account__requirements__currently_due={}), "wrong_type",
         "payment_provider_account.requirements.currently_due"),
    # the same child twice
    Case("bag_twice", ORD, appended_bag_copy(), "duplicate_child_id", "bags[1].id"),
    Case("sku_line_twice", ORD, appended_sku_copy(), "duplicate_child_id", "bags[0].skus[1].id"),
    # timestamps: a Violet spelling of a real instant from 2000 on, not after receipt + tolerance
    Case("order_dlm_year_1", ORD, changed(ORD, date_last_modified="0001-01-01T00:00:00Z"),
         "bad_timestamp", "date_last_modified"),
    Case("order_dlm_hour_24", ORD, changed(ORD, date_last_modified="2026-03-03T24:00:00Z"),
         "bad_timestamp", "date_last_modified"),
    Case("order_dlm_offset_99", ORD, changed(ORD, date_last_modified="2026-03-03T10:00:00+9999"),
         "bad_timestamp", "date_last_modified"),
    Case("order_dlm_missing", ORD, changed(ORD, date_last_modified=DROP), "missing_timestamp",
         "date_last_modified"),
    Case("order_dlm_9999", ORD, changed(ORD, date_last_modified="9999-12-31T00:00:00Z"),
         "future_timestamp", "date_last_modified"),
    Case("order_date_created_feb_30", ORD, changed(ORD, date_created="2026-02-30T10:00:00Z"),
         "bad_timestamp", "date_created"),
    Case("bag_dlm_text", ORD, changed(ORD, bags__0__date_last_modified="garbage"), "bad_timestamp",
         "bags[0].date_last_modified"),
    Case("bag_dlm_missing", ORD, changed(ORD, bags__0__date_last_modified=DROP),
         "missing_timestamp",
         "bags[0].date_last_modified"),
    Case("bag_dlm_9999", ORD, changed(ORD, bags__0__date_last_modified="9999-12-31T00:00:00Z"),
         "future_timestamp", "bags[0].date_last_modified"),
    Case("payment_dlm_9999", ORD,
         changed(ORD, payment_transactions__0__date_last_modified="9999-12-31T00:00:00+0000"),
         "future_timestamp", "payment_transactions[0].date_last_modified"),
    Case("collection_date_created_9999", "COLLECTION_UPDATED",
         changed("COLLECTION_UPDATED", date_created="9999-12-31T00:00:00Z"), "future_timestamp",
         "date_created"),
    # duplicate keys: Python's json reads the last, DuckDB's the first
    Case("duplicate_top_level_key", ORD, duplicated(ORD, "total", 1), "duplicate_key", "total"),
    Case("duplicate_id_key", TRF, duplicated(TRF, "id", 1), "duplicate_key", "id"),
    Case("duplicate_bag_key", ORD, duplicated(ORD, "bags[0].total", 1), "duplicate_key",
         "bags[0].total"),
    Case("duplicate_sku_key", ORD, duplicated(ORD, "bags[0].skus[0].price", 1), "duplicate_key",
         "bags[0].skus[0].price"),
    Case("duplicate_payment_key", ORD, duplicated(ORD, "payment_transactions[0].amount", 1),
         "duplicate_key", "payment_transactions[0].amount"),
    Case("duplicate_order_error_key", ORD,
         changed(ORD, errors=[{"error_code": 1, DUPLICATE: 2}]).replace(
             DUPLICATE.encode(), b"error_code"),
         "duplicate_key", "..error_code"),
]  # fmt: skip
REASONS = sorted({c.reason for c in CASES})


def build(root: Path, records: list[RawRecord], **load: Any) -> duckdb.DuckDBPyConnection:
    """Seal `records` as one file, load it in one batch and build core, ops and finance."""
    raw = layout.raw_dir(root)
    seal(records, raw, "t", 1)
    con = duckdb.connect(str(root / "w.duckdb"))
    result = staging_build.load_staging(con, raw, **load)
    assert result.files == 1
    assert not result.pending_files
    core_build.build_core(con)
    ops_build.build_ops(con)
    build_finance(con, FinanceSettings(as_of=AS_OF))
    return con


def blocking_failures(con: duckdb.DuckDBPyConnection) -> list[str]:
    warehouse = Warehouse(data_dir="/nonexistent")
    failed = []
    for spec, evaluate in [
        *core_checks.CORE_CHECKS,
        (staging_checks.EVENTS_UNIQUE, staging_checks._events_unique),
    ]:
        if spec.blocking and not evaluate(con, warehouse).passed:
            failed.append(f"{spec.asset_key.to_user_string()}:{spec.name}")
    return failed


def quarantined(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str | None]]:
    rows = con.execute("select delivery_id, reason, detail from staging.quarantine").fetchall()
    return {d: (r, x) for d, r, x in rows}


def rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[Any, ...]]:
    return sorted(con.execute(f"select * from {table}").fetchall(), key=repr)


@pytest.fixture(scope="module")
def loaded(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[duckdb.DuckDBPyConnection, dict[str, str]]]:
    """One warehouse, each odd delivery loaded alone (its own raw directory and batch): the
    warehouse and the error of each load that failed."""
    root = tmp_path_factory.mktemp("odd")
    failed: dict[str, str] = {}
    with duckdb.connect(str(root / "w.duckdb")) as con:
        for i, case in enumerate(CASES):
            raw = root / f"raw-{i}"
            seal([record(case.topic, case.body, f"odd-{case.name}", i)], raw, "t", i + 1)
            try:
                staging_build.load_staging(con, raw)
            except duckdb.Error as e:
                failed[case.name] = str(e).splitlines()[0]
        yield con, failed


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_an_odd_delivery_is_quarantined_with_its_reason_and_field(
    loaded: tuple[duckdb.DuckDBPyConnection, dict[str, str]], case: Case
) -> None:
    con, failed = loaded
    assert case.name not in failed, failed[case.name]
    delivery = f"odd-{case.name}"
    assert quarantined(con).get(delivery) == (case.reason, case.detail)
    assert con.execute(
        "select quarantine_reason from staging.events where delivery_id = ?", [delivery]
    ).fetchall() == [(case.reason,)]


GOOD = sorted(p.stem for p in FIXTURES.glob("*.json"))


def _good_records() -> list[RawRecord]:
    return [
        record(topic, (FIXTURES / f"{topic}.json").read_bytes(), f"good-{topic}", 2 * i)
        for i, topic in enumerate(GOOD)
    ]


def test_every_odd_delivery_in_one_batch_with_good_ones_leaves_the_good_tables_as_they_are(
    tmp_path: Path,
) -> None:
    """One file holding every odd body between the documented payloads: the run succeeds (staging,
    core, ops, finance, every blocking check) and core and finance are exactly those of the good
    deliveries alone."""
    good = _good_records()
    odd = [record(c.topic, c.body, f"odd-{c.name}", 2 * i + 1) for i, c in enumerate(CASES)]
    with build(tmp_path / "good", good) as alone:
        expected = {t: rows(alone, t) for t in TABLES + FINANCE}
        expected_exceptions = rows(alone, "finance.exceptions")
    mixed = sorted(good + odd, key=lambda r: r.sequence)
    with build(tmp_path / "mixed", mixed) as con:
        assert quarantined(con) == {f"odd-{c.name}": (c.reason, c.detail) for c in CASES}
        assert blocking_failures(con) == []
        for table, want in expected.items():
            assert rows(con, table) == want, table
        assert rows(con, "finance.exceptions") == expected_exceptions
        assert sum(len(w) for w in expected.values()) > 50


def test_a_version_dated_past_the_tolerance_after_its_receipt_never_becomes_current(
    tmp_path: Path,
) -> None:
    received = T0 + 10 * 1_000_000
    first = record(ORD, (FIXTURES / f"{ORD}.json").read_bytes(), "v1", 0)
    # 2026-11-18 13:06:40: received 11:06:50, so two hours ahead of its receipt
    ahead = record(ORD, changed(ORD, date_last_modified="2026-11-18T13:06:40Z", status="COMPLETED"),
                   "v2", 1, received)  # fmt: skip
    far = record(ORD, changed(ORD, date_last_modified="9999-12-31T23:59:59Z", status="REJECTED"),
                 "v3", 2, received + 1)  # fmt: skip
    with build(tmp_path / "default", [first, ahead, far]) as con:
        assert quarantined(con) == {"v3": ("future_timestamp", "date_last_modified")}
        assert con.execute("select status, event_key from core.orders").fetchall() == [
            ("COMPLETED", "v2")
        ]
    with build(
        tmp_path / "strict", [first, ahead, far], future_tolerance=timedelta(hours=1)
    ) as con:
        assert quarantined(con) == {
            "v2": ("future_timestamp", "date_last_modified"),
            "v3": ("future_timestamp", "date_last_modified"),
        }
        assert con.execute("select status, event_key from core.orders").fetchall() == [
            ("ACCEPTED", "v1")
        ]
        assert con.execute(
            "select count(*) from core.orders_history where status = 'REJECTED'"
        ).fetchone() == (0,)


def test_violet_ts_reads_the_three_spellings_and_nothing_else() -> None:
    good = {
        "2025-04-08T16:21:52+0000": "2025-04-08 16:21:52+00",
        "2023-11-07T05:31:56Z": "2023-11-07 05:31:56+00",
        "2026-03-11T16:21:52.924Z": "2026-03-11 16:21:52.924+00",
        "2026-03-11T18:21:52+02:00": "2026-03-11 16:21:52+00",
        "2000-01-01T00:00:00Z": "2000-01-01 00:00:00+00",
    }
    bad = [
        "0001-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "2026-01-01T24:00:00Z",
        "2026-01-01T23:60:00Z", "2026-01-01T23:59:60Z", "2026-02-30T00:00:00Z",
        "2026-13-01T00:00:00Z", "2026-01-01T00:00:00+9999", "2026-01-01T00:00:00+1500",
        "2026-01-01 00:00:00Z", "2026-01-01T00:00:00", "2026-01-01", "1767225600", "",
        "2026-01-01T00:00:00.1234567Z",
    ]  # fmt: skip
    with duckdb.connect() as con:
        sql.prepare(con)
        con.execute("set timezone = 'UTC'")
        for text, want in good.items():
            got = con.execute("select violet_ts(?)::varchar", [text]).fetchone()
            assert got == (want,), text
        for text in bad:
            assert con.execute("select violet_ts(?)", [text]).fetchone() == (None,), text


def test_core_casts_never_raise_on_what_an_older_door_let_through(tmp_path: Path) -> None:
    """A warehouse whose staging.events hold values today's door quarantines (loaded by an
    earlier version) builds core: every cast of payload data is a try, not a failure."""
    raw = layout.raw_dir(tmp_path)
    seal(_good_records(), raw, "t", 1)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        staging_build.load_staging(con, raw)
        odd = {
            "ORDER_UPDATED": changed(
                ORD,
                total=BIG,
                bags__0__id=10**20,
                bags__0__total=BIG,
                bags__0__skus__0__price=BIG,
                payment_transactions__0__amount=BIG,
                payment_transactions__0__order_id=2**64,
            ),
            "TRANSFER_SENT": changed(TRF, related_bags={}, amount=BIG, payout_account_id=2**64),
            ACC: changed(
                ACC, merchant_id=2**63, payment_provider_account__requirements__currently_due={}
            ),
            SYN: changed(SYN, merchant_id=2**63, total_products=2**64),
        }
        for topic, body in odd.items():
            con.execute(
                "update staging.events set payload = ?::json where delivery_id = ?",
                [body.decode(), f"good-{topic}"],
            )
        core_build.build_core(con)
        ops_build.build_ops(con)
        build_finance(con, FinanceSettings(as_of=AS_OF))
        assert blocking_failures(con) == []


# Every field the door types, per entity (topic of a fixture holding it), and odd values for it.
FIELDS = {
    ORD: [
        "id", "sub_total", "shipping_total", "tax_total", "discount_total", "total",
        "date_created", "date_last_modified", "bags", "payment_transactions",
        "bags[0]", "bags[0].id", "bags[0].order_id", "bags[0].merchant_id", "bags[0].sub_total",
        "bags[0].shipping_total", "bags[0].tax_total", "bags[0].discount_total", "bags[0].total",
        "bags[0].commission_rate", "bags[0].date_created", "bags[0].date_last_modified",
        "bags[0].skus", "bags[0].refunds", "bags[0].skus[0]", "bags[0].skus[0].id",
        "bags[0].skus[0].sku_id", "bags[0].skus[0].offer_id", "bags[0].skus[0].quantity",
        "bags[0].skus[0].price", "bags[0].skus[0].line_price", "payment_transactions[0]",
        "payment_transactions[0].id", "payment_transactions[0].order_id",
        "payment_transactions[0].amount", "payment_transactions[0].date_created",
        "payment_transactions[0].date_last_modified", "payment_transactions[0].related_bags",
        "payment_transactions[0].related_refunds",
    ],
    TRF: [
        "payout_account_id", "merchant_id", "amount", "currency", "related_orders", "related_bags",
        "related_order_ids", "related_bag_ids", "related_distributions", "transfer_reversals",
        "errors", "date_created",
    ],
    "TRANSFER_FAILED": [
        "errors[0]", "errors[0].error_code", "errors[0].refund_id", "errors[0].date_created",
    ],
    PAY: ["order_id", "amount", "related_bags", "related_refunds", "date_last_modified"],
    "OFFER_UPDATED": ["merchant_id", "min_price", "max_price", "available", "visible", "skus"],
    SYN: ["merchant_id", "total_products", "total_collections"],
    ACC: [
        "merchant_id", "is_active", "payment_provider_account.charges_enabled",
        "payment_provider_account.requirements.currently_due", "errors",
    ],
    "MERCHANT_CONNECTED": ["commission_rate"],
    "COLLECTION_UPDATED": ["merchant_id"],
}  # fmt: skip
ODD = [
    2**63, 2**63 - 1, 10**18, 10**15, 10**15 + 1, -(10**15), 10**9, 0, -1, 1, 1.5, 100, 100.5,
    "12", "abc", "", None, True, {}, [], ["x"], ["12"], [12], [None], ["-3"], [0],
    "2026-02-30T00:00:00Z", "2026-03-03T10:00:00Z", "2026-11-18T10:00:00.123456Z",
    "9999-01-01T00:00:00Z", "1999-12-31T23:59:59Z", DROP,
]  # fmt: skip


def _with(topic: str, path: str, value: Any) -> bytes | None:
    doc = fixture(topic)
    steps = _steps(path)
    node: Any = doc
    for step in steps[:-1]:
        node = node[step]
    if value is DROP:
        if isinstance(node, list) or steps[-1] not in node:
            return None
        del node[steps[-1]]
    else:
        node[steps[-1]] = value
    return json.dumps(doc).encode()


# The exact checks alone, as an oracle for the pipeline's fast-then-exact door.
EXACT = """
with
p as (
    select d.delivery_id, d.quarantine_reason, d.quarantine_detail, e.entity, e.received_at,
        e.payload, json_transform(e.payload, violet_door_shape()) as doc,
        json_keys(e.payload) as top_keys,
    from staging.deliveries as d
    inner join staging.events as e using (event_key)
),

c as (
    select *,
        list_transform(doc.bags, lambda b: b.id) as bag_ids,
        flatten(list_transform(doc.bags, lambda b: list_transform(b.skus, lambda s: s.id)))
            as line_ids,
        list_transform(doc.payment_transactions, lambda x: x.id) as payment_ids,
    from p
),

x as (
    select *, coalesce(
        violet_body_problem(entity, doc, payload, top_keys, received_at),
        case when entity = 'order' then violet_children_problem(
            doc, payload, received_at, bag_ids, line_ids, payment_ids) end
    ) as exact,
    from c
)

select delivery_id, quarantine_reason, quarantine_detail,
    split_part(exact, ' ', 1) as reason, nullif(split_part(exact, ' ', 2), '') as detail,
from x
"""


def test_the_fast_checks_pass_nothing_the_exact_checks_reject(tmp_path: Path) -> None:
    """Each typed field of each entity, set to each of many odd values: the door (fast checks,
    and the exact ones where those do not pass) quarantines exactly what the exact checks alone
    find, with the same reason and field."""
    records: list[RawRecord] = []
    for topic, paths in FIELDS.items():
        for path in paths:
            for value in ODD:
                body = _with(topic, path, value)
                if body is not None:
                    n = len(records)
                    records.append(record(topic, body, f"m-{n}-{topic}-{path}", n))
    raw = layout.raw_dir(tmp_path)
    seal(records, raw, "t", 1)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        staging_build.load_staging(con, raw)
        rows = con.execute(EXACT).fetchall()
    assert len(rows) == len(records) > 1000
    differ = [(d, (qr, qd), (r, x)) for d, qr, qd, r, x in rows if (qr, qd) != (r or None, x)]
    assert differ == []
    reasons = {qr for _, qr, *_ in rows}
    assert {"wrong_type", "id_out_of_range", "money_out_of_range", "bad_timestamp"} <= reasons
    assert None in reasons  # the odd values that are fine


def test_every_reason_is_documented_in_the_quarantine_comment_and_model() -> None:
    described = _catalog.describe("staging", "quarantine", "reason") or ""
    header = QUARANTINE_SQL.read_text()
    for reason in [*REASONS, "invalid_json", "missing_topic", "unknown_topic", "wrong_shape"]:
        assert reason in described, reason
        assert reason in header, reason
    assert _catalog.describe("staging", "quarantine", "detail")
    assert _catalog.describe("staging", "deliveries", "quarantine_detail")
