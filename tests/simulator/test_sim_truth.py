"""The truth agrees with the stream: replaying the deliveries gives the same state and exceptions.

The replay and the reconciliation below read only delivered bytes, never simulator internals: they
are an independent implementation of truth.py's and anomalies.py's documented rules.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from simulator import anomalies as A
from simulator import clock, events, money, rows, stream, truth
from simulator.deliveries import BAD_SIGNATURE, Delivery
from simulator.options import Options

Payload = dict[str, Any]


class Replay:
    """Newest version per entity, plus every order and bag id ever delivered."""

    def __init__(self, deliveries: list[Delivery]) -> None:
        self.current: dict[str, dict[int, Payload]] = defaultdict(dict)
        self.versions: dict[str, dict[int, int]] = defaultdict(dict)
        self.seen_orders: set[int] = set()
        self.seen_bags: set[int] = set()
        firsts: dict[str, Delivery] = {}
        for d in deliveries:
            if d.kind == BAD_SIGNATURE:
                continue
            key = d.header("X-Violet-Event-Id-Source") or d.header("X-Violet-Event-Id")
            key = key or "sha256:" + hashlib.sha256(d.body).hexdigest()
            firsts.setdefault(key, d)
        # First delivery of each logical event, replayed in date_last_modified order.
        parsed: list[tuple[int, str, Payload]] = []
        for d in firsts.values():
            topic = d.header("X-Violet-Topic")
            entity = events.entity_of_topic(topic) if topic else None
            if entity is None:
                continue
            try:
                payload = json.loads(d.body)
            except ValueError:
                continue
            parsed.append((rows.version_of(payload), entity, payload))
            if entity == events.ORDERS:
                for p in payload["payment_transactions"]:
                    parsed.append((rows.version_of(p), events.PAYMENT_TRANSACTIONS, p))
        parsed.sort(key=lambda item: item[0])
        for version, entity, payload in parsed:
            if entity == events.ORDERS:
                self.seen_orders.add(payload["id"])
                self.seen_bags.update(b["id"] for b in payload["bags"])
            known = self.versions[entity].get(payload["id"])
            if known is not None and known == version:
                # One version, many deliveries: they must say the same thing.
                assert rows.rows(entity, payload) == rows.rows(
                    entity, self.current[entity][payload["id"]]
                )
            if known is None or version >= known:
                self.current[entity][payload["id"]] = payload
                self.versions[entity][payload["id"]] = version

    def tables(self) -> dict[str, list[rows.Row]]:
        out: dict[str, list[rows.Row]] = {table: [] for table in rows.TABLES}
        for entity, by_id in self.current.items():
            rows.collect(entity, list(by_id.values()), out)
        return out


def reconcile(replay: Replay, summary: dict[str, Any]) -> Counter[tuple[Any, ...]]:
    """The documented exception rules (anomalies.py), applied to replayed current state."""
    as_of = clock.parse(summary["as_of"])
    grace = summary["grace"]
    capture_grace = grace["capture_grace_hours"] * clock.HOUR
    transfer_grace = grace["transfer_grace_days"] * clock.DAY
    reversal_grace = grace["reversal_grace_days"] * clock.DAY
    cur = replay.current
    found: Counter[tuple[Any, ...]] = Counter()
    payment_of = {p["order_id"]: p for p in cur[events.PAYMENT_TRANSACTIONS].values()}
    bags: dict[int, tuple[Payload, Payload]] = {}
    for o in cur[events.ORDERS].values():
        for b in o["bags"]:
            bags[b["id"]] = (o, b)

    def merchant_amount(b: Payload) -> int:
        bp = money.rate_bp(b["commission_rate"])
        return money.merchant_amount(
            b["sub_total"], b["tax_total"], b["shipping_total"], b["discount_total"], bp
        )

    for o in cur[events.ORDERS].values():
        p = payment_of[o["id"]]
        age = as_of - clock.parse(p["date_created"])
        closed = o["status"] in A.CLOSED_ORDER_STATUSES
        if p["capture_status"] in A.UNCAPTURED_STATUSES and not closed and age > capture_grace:
            found[(A.CAPTURE_MISSING, o["currency"], p["amount"], o["id"], None, None, None)] += 1
        if p["capture_status"] == "FAILED" and not closed:
            found[(A.CAPTURE_FAILED, o["currency"], o["total"], o["id"], None, None, None)] += 1
        if p["capture_status"] in A.CAPTURED_STATUSES and p["amount"] != o["total"]:
            diff = abs(p["amount"] - o["total"])
            found[(A.CAPTURE_AMOUNT_MISMATCH, o["currency"], diff, o["id"], None, None, None)] += 1

    covered: dict[int, list[Payload]] = defaultdict(list)
    for t in cur[events.TRANSFERS].values():
        for bag_id in t["related_bags"]:
            covered[int(bag_id)].append(t)
    for bag_id, (o, b) in bags.items():
        p = payment_of[o["id"]]
        owed = b["status"] in A.OWED_BAG_STATUSES and p["capture_status"] in A.CAPTURED_STATUSES
        age = as_of - clock.parse(p["date_created"])
        if owed and not covered.get(bag_id) and age > transfer_grace:
            key = (A.TRANSFER_MISSING, o["currency"], merchant_amount(b), o["id"], bag_id)
            found[(*key, b["merchant_id"], None)] += 1

    accounts = cur[events.PAYOUT_ACCOUNTS]
    for t in cur[events.TRANSFERS].values():
        bag_ids = [int(x) for x in t["related_bags"]]
        order_ids = [int(x) for x in t["related_orders"]]
        single = (order_ids[0], bag_ids[0]) if len(bag_ids) == 1 else (None, None)
        ids_ = (*single, t["merchant_id"], t["id"])
        if t["status"] == "FAILED":
            found[(A.TRANSFER_FAILED, t["currency"], t["amount"], *ids_)] += 1
        unknown = [b for b in bag_ids if b not in replay.seen_bags]
        if unknown:
            unknown_orders = [x for x in order_ids if x not in replay.seen_orders]
            key = (A.UNKNOWN_REFERENCE, t["currency"], t["amount"], unknown_orders[0], unknown[0])
            found[(*key, t["merchant_id"], t["id"])] += 1
        else:
            expected = sum(merchant_amount(bags[b][1]) for b in bag_ids)
            if expected != t["amount"]:
                diff = abs(expected - t["amount"])
                found[(A.TRANSFER_AMOUNT_MISMATCH, t["currency"], diff, *ids_)] += 1
        refunds = sorted(
            (
                (clock.parse(r["date_created"]), r, bags[b][0]["id"], b)
                for b in bag_ids
                if b in bags
                for r in bags[b][1]["refunds"]
                if r["merchant_transfer_reversal_amount"] > 0
            ),
            key=lambda item: item[0],
        )
        open_reversal_errors = [
            e
            for e in t["errors"]
            if e["error_code"] == A.REVERSAL_FAILED_CODE and not e.get("resolved", False)
        ]
        for e in open_reversal_errors:
            _, r, order_id, bag_id = next(x for x in refunds if x[1]["id"] == e["refund_id"])
            amount = r["merchant_transfer_reversal_amount"]
            key = (A.REVERSAL_FAILED, t["currency"], amount, order_id, bag_id)
            found[(*key, t["merchant_id"], t["id"])] += 1
        missing = len(refunds) - len(t.get("transfer_reversals") or [])
        if missing > 0 and not open_reversal_errors:
            for refunded_at, r, order_id, bag_id in refunds[-missing:]:
                if as_of - refunded_at > reversal_grace:
                    amount = r["merchant_transfer_reversal_amount"]
                    key = (A.REVERSAL_MISSING, t["currency"], amount, order_id, bag_id)
                    found[(*key, t["merchant_id"], t["id"])] += 1
        if t["status"] == "PENDING":
            acct = accounts[t["payout_account_id"]]
            provider = acct["payment_provider_account"]
            blocked = (
                not acct["is_active"]
                or not provider["payouts_enabled"]
                or bool(provider["requirements"]["past_due"])
            )
            if blocked:
                found[(A.PAYOUT_ACCOUNT_BLOCKED, t["currency"], t["amount"], *ids_)] += 1
    return found


@pytest.fixture(scope="module")
def replay(mid_deliveries: list[Delivery]) -> Replay:
    return Replay(mid_deliveries)


def _sorted(table_rows: list[list[Any]] | list[rows.Row]) -> list[tuple[Any, ...]]:
    return sorted(tuple(r) for r in table_rows)


@pytest.mark.parametrize("table", rows.TABLES)
def test_replayed_current_state_is_the_truth(
    mid_truth_dir: Path, mid_summary: dict[str, Any], replay: Replay, table: str
) -> None:
    expected = truth.to_table(table, replay.tables()[table])
    written = pq.read_table(mid_truth_dir / f"{table}.parquet")
    assert written.schema.equals(truth.schema(table))
    assert written.num_rows > 0
    assert _sorted([list(r.values()) for r in written.to_pylist()]) == _sorted(
        [list(r.values()) for r in expected.to_pylist()]
    )
    assert mid_summary["entities"][table] == written.num_rows


def test_the_documented_rules_find_exactly_the_injected_anomalies(
    mid_truth_dir: Path, mid_summary: dict[str, Any], replay: Replay
) -> None:
    written = pq.read_table(mid_truth_dir / "exceptions.parquet").to_pylist()
    expected = Counter(
        (
            r["kind"],
            r["currency"],
            r["amount_minor"],
            r["order_id"],
            r["bag_id"],
            r["merchant_id"],
            r["transfer_id"],
        )
        for r in written
    )
    found = reconcile(replay, mid_summary)
    assert found == expected
    assert all(n == 1 for n in expected.values()), "every injected anomaly is one exception"
    kinds = Counter(r["kind"] for r in written)
    assert set(kinds) == set(A.KINDS)
    assert all(r["amount_minor"] > 0 and r["detail"] for r in written)


def test_summary_counts_match_the_stream(
    mid_summary: dict[str, Any], mid_deliveries: list[Delivery]
) -> None:
    summary, ds = mid_summary, mid_deliveries
    stored = [d for d in ds if d.kind != BAD_SIGNATURE]
    assert summary["deliveries_total"] == len(ds)
    assert summary["genuine_stored_deliveries"] == len(stored)
    assert summary["bad_signature_deliveries"] == len(ds) - len(stored)
    firsts: dict[str, Delivery] = {}
    for d in stored:
        key = d.header("X-Violet-Event-Id-Source") or d.header("X-Violet-Event-Id")
        firsts.setdefault(key or "sha256:" + hashlib.sha256(d.body).hexdigest(), d)
    by_topic = Counter(d.header("X-Violet-Topic") for d in firsts.values())
    assert None not in by_topic
    assert summary["logical_events"] == len(firsts)
    assert summary["logical_events_by_topic"] == dict(by_topic)
    stored_by_topic = Counter(d.header("X-Violet-Topic") for d in stored)
    assert summary["stored_deliveries_without_topic"] == stored_by_topic.pop(None, 0)
    assert summary["stored_deliveries_by_topic"] == dict(stored_by_topic)
    kinds = Counter(d.kind for d in ds)
    assert summary["bad_deliveries"] == {k: kinds[k] for k in summary["bad_deliveries"]}
    assert summary["as_of"] == "2026-11-03T00:00:00Z"
    assert set(summary["grace"]) == {
        "transfer_grace_days",
        "reversal_grace_days",
        "capture_grace_hours",
    }


def test_a_healthy_world_raises_no_exception(tmp_path: Path) -> None:
    """No anomalies injected: the rules must find nothing, in-flight work at as_of included."""
    options = Options(seed=23, orders=1_500, days=1, anomaly_rates=dict.fromkeys(A.KINDS, 0.0))
    summary = truth.write_truth(options, tmp_path, workers=1)
    assert summary["exceptions"] == 0
    replay = Replay(stream.deliveries(options, "healthy-secret", workers=1))
    assert reconcile(replay, summary) == Counter()
    # The span ends mid-flight: owed bags whose transfer has not come yet (within grace).
    covered = {int(b) for t in replay.current[events.TRANSFERS].values() for b in t["related_bags"]}
    waiting = [
        b["id"]
        for o in replay.current[events.ORDERS].values()
        for b in o["bags"]
        if b["status"] in A.OWED_BAG_STATUSES and b["id"] not in covered
    ]
    assert waiting
