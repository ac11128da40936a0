"""Deliveries look like Violet's: signed bodies, documented headers, topics and payload shapes."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

import pytest

from ingest.signature import SignatureError, Verifier
from simulator import catalog, clock, events, merchants, order_payloads, orders
from simulator.deliveries import (
    BAD_SIGNATURE,
    GENUINE,
    MISSING_EVENT_ID,
    MISSING_TOPIC,
    NOT_JSON,
    UNKNOWN_TOPIC,
    Delivery,
)
from simulator.options import Options
from simulator.world import WorldPlan

ID_FIELDS = {
    events.ORDERS: ("id",),
    events.MERCHANTS: ("id",),
    events.PAYOUT_ACCOUNTS: ("id", "merchant_id"),
    events.OFFERS: ("id", "merchant_id"),
    events.COLLECTIONS: ("id", "merchant_id"),
    events.SYNCS: ("id", "merchant_id"),
    events.PAYMENT_TRANSACTIONS: ("id", "order_id", "amount"),
    events.TRANSFERS: ("id", "payout_account_id", "amount"),
}
MONEY = ("sub_total", "shipping_total", "tax_total", "discount_total", "total")


def _genuine(ds: list[Delivery]) -> list[tuple[Delivery, str, dict[str, Any]]]:
    out = []
    for d in ds:
        topic = d.header("X-Violet-Topic")
        if d.kind in (GENUINE, MISSING_EVENT_ID) and topic is not None:
            entity = events.entity_of_topic(topic)
            assert entity is not None, topic
            out.append((d, entity, json.loads(d.body)))
    return out


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


SPELLINGS = ("+0000", "Z", "ms")  # 2025-04-08T16:21:52+0000, ...:56Z, ...:39.054Z


def _spelling(stamp: str) -> str:
    if stamp.endswith("+0000"):
        return "+0000"
    return "ms" if stamp[-5] == "." else "Z"


def test_every_stored_delivery_verifies_and_no_forged_one_does(
    mid_deliveries: list[Delivery], secret: str
) -> None:
    verifier = Verifier([("current", "rotated-out"), ("app", secret)])
    kinds = Counter(d.kind for d in mid_deliveries)
    assert all(kinds[k] > 0 for k in (BAD_SIGNATURE, NOT_JSON, UNKNOWN_TOPIC, MISSING_EVENT_ID))
    for d in mid_deliveries:
        if d.kind == BAD_SIGNATURE:
            with pytest.raises(SignatureError):
                verifier.verify(d.body, d.header("X-Violet-Hmac"))
        else:
            assert verifier.verify(d.body, d.header("X-Violet-Hmac")) == "app"


def test_headers_are_the_documented_ones(mid_deliveries: list[Delivery]) -> None:
    reasons = 0
    for d in mid_deliveries:
        topic = d.header("X-Violet-Topic")
        assert d.header("X-Violet-Entity-Length") == str(len(d.body))
        assert d.header("X-Violet-Webhook-Id") == events.WEBHOOK_IDS[topic or "ORDER_UPDATED"] or (
            d.kind == MISSING_TOPIC
        )
        assert (d.header("X-Violet-Event-Id") is None) == (d.kind == MISSING_EVENT_ID)
        assert (topic is None) == (d.kind == MISSING_TOPIC)
        source = d.header("X-Violet-Event-Id-Source")
        assert source is None or source != d.header("X-Violet-Event-Id")
        if d.kind not in (GENUINE, MISSING_EVENT_ID) or topic is None:
            continue
        body = json.loads(d.body)
        entity = events.entity_of_topic(topic)
        if entity == events.ORDERS:
            assert d.header("X-Violet-Order-Id") == str(body["id"])
            assert int(d.header("X-Violet-Bag-Id") or 0) in {b["id"] for b in body["bags"]}
        else:
            assert d.header("X-Violet-Order-Id") is None
        if entity == events.PAYOUT_ACCOUNTS:
            assert d.header("X-Violet-Entity-External-Id") == body["payment_provider_account_id"]
        if entity == events.MERCHANTS:
            assert d.header("X-Violet-Merchant-Id") == str(body["id"])
            if topic in ("MERCHANT_ENABLED", "MERCHANT_DISABLED"):
                assert d.header("X-Violet-Reason")
                reasons += 1
    assert reasons > 0


def test_payloads_have_documented_names_and_types(mid_deliveries: list[Delivery]) -> None:
    spellings: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for _, entity, p in _genuine(mid_deliveries):
        seen[entity] += 1
        for name in ID_FIELDS[entity]:
            assert _is_int(p[name]), (entity, name, p[name])
        for stamp in ("date_created", "date_last_modified"):
            spellings[_spelling(p[stamp])] += 1
            clock.parse(p[stamp])
        if entity == events.ORDERS:
            assert all(_is_int(p[m]) for m in MONEY)
            assert p["total"] == sum(b["total"] for b in p["bags"])
            for b in p["bags"]:
                assert all(_is_int(b[m]) for m in MONEY)
                assert isinstance(b["commission_rate"], float)
                assert b["total"] == (
                    b["sub_total"] + b["shipping_total"] + b["tax_total"] - b["discount_total"]
                )
                for s in b["skus"]:
                    assert all(_is_int(s[k]) for k in ("id", "sku_id", "offer_id", "price"))
                    assert s["line_price"] == s["price"] * s["quantity"]
            for pt in p["payment_transactions"]:
                assert all(isinstance(x, str) for x in pt["related_bags"] + pt["related_refunds"])
        if entity == events.PAYMENT_TRANSACTIONS:
            assert all(isinstance(x, str) and x.isdigit() for x in p["related_bags"])
            assert p["capture_method"] in ("AUTOMATIC", "CUSTOM")
            assert p["transfer_method"] in ("AUTOMATIC", "DISABLED")
        if entity == events.TRANSFERS:
            orders_key = "related_orders" if "related_orders" in p else "related_order_ids"
            bags_key = "related_bags" if "related_bags" in p else "related_bag_ids"
            assert (orders_key == "related_orders") == (bags_key == "related_bags")
            related = p[orders_key] + p[bags_key]
            assert all(isinstance(x, str) and x.isdigit() for x in related) or (
                orders_key == "related_orders" and all(_is_int(x) for x in related)
            )
            assert isinstance(p["payment_provider_id"], str)
            for e in p["errors"]:
                assert _is_int(e["error_code"])
                assert e["payout_transfer_id"] == p["id"]
        if entity == events.MERCHANTS:
            assert ("merchant_name" in p) != ("name" in p)
    assert set(seen) == set(events.ENTITIES)
    assert all(spellings[s] > 100 for s in SPELLINGS), spellings


def test_topics_cover_every_entity_and_both_spellings(mid_deliveries: list[Delivery]) -> None:
    topics = Counter(d.header("X-Violet-Topic") for d in mid_deliveries)
    for pair in (
        ("ORDER_CANCELLED", "ORDER_CANCELED"),
        ("TRANSFER_PARTIALLY_REVERSED", "TRANSFER_PARTIALLY_REFUNDED"),
    ):
        assert all(topics[t] > 0 for t in pair), pair
    assert topics["ORDER_UPDATED"] > topics["ORDER_SHIPPED"] > 0
    for name in (
        "ORDER_ACCEPTED", "ORDER_DELIVERED", "ORDER_COMPLETED", "ORDER_REFUNDED", "ORDER_RETURNED",
        "ORDER_FAILED", "MERCHANT_CONNECTED", "MERCHANT_COMPLETE", "MERCHANT_NEEDS_ATTENTION",
        "MERCHANT_DISCONNECTED", "MERCHANT_PAYOUT_ACCOUNT_CREATED",
        "MERCHANT_PAYOUT_ACCOUNT_REQUIREMENTS_UPDATED", "MERCHANT_PAYOUT_ACCOUNT_ACTIVATED",
        "MERCHANT_PAYOUT_ACCOUNT_DEACTIVATED", "OFFER_ADDED", "OFFER_UPDATED", "OFFER_REMOVED",
        "COLLECTION_CREATED", "PRODUCT_SYNC_STARTED", "PRODUCT_SYNC_COMPLETED",
        "PAYMENT_TRANSACTION_CAPTURE_STATUS_AUTHORIZED",
        "PAYMENT_TRANSACTION_CAPTURE_STATUS_CAPTURED", "PAYMENT_TRANSACTION_CAPTURE_STATUS_FAILED",
        "PAYMENT_TRANSACTION_CAPTURE_STATUS_REFUNDED",
        "PAYMENT_TRANSACTION_CAPTURE_STATUS_PARTIALLY_REFUNDED",
        "PAYMENT_TRANSACTION_CAPTURE_STATUS_UPDATED", "TRANSFER_SENT", "TRANSFER_PARTIALLY_SENT",
        "TRANSFER_FAILED", "TRANSFER_REVERSED", "TRANSFER_REVERSAL_FAILED", "TRANSFER_UPDATED",
    ):  # fmt: skip
        assert topics[name] > 0, name
    assert any(topics[t] for t in events.UNKNOWN_TOPICS)
    assert all(events.entity_of_topic(t) is None for t in events.UNKNOWN_TOPICS)
    assert "PAYMENT_TRANSACTION_CAPTURED" not in events.WEBHOOK_IDS
    sent = {t for t in topics if t is not None}
    assert sent <= set(events.WEBHOOK_IDS)
    documented = {t for ts in events.TOPICS.values() for t in ts}
    family = {t for ts in events.NEW_FAMILY_TOPICS.values() for t in ts}
    assert sent <= documented | family | set(events.UNKNOWN_TOPICS)
    assert sent & family


def test_retries_resends_lag_and_out_of_order(mid_deliveries: list[Delivery]) -> None:
    by_event: dict[str, list[Delivery]] = defaultdict(list)
    for d in mid_deliveries:
        eid = d.header("X-Violet-Event-Id")
        if eid is not None and d.kind == GENUINE:
            by_event[eid].append(d)
    retried = [ds for ds in by_event.values() if len(ds) > 1]
    assert retried
    for ds in retried:
        assert len({(d.body, d.headers) for d in ds}) == 1
    originals = {eid: ds[0] for eid, ds in by_event.items()}
    resends = [d for d in mid_deliveries if d.header("X-Violet-Event-Id-Source")]
    assert resends
    for d in resends:
        original = originals[d.header("X-Violet-Event-Id-Source") or ""]
        assert original.body == d.body
        assert original.at_us < d.at_us

    lags = []
    newest: dict[tuple[str, int], int] = {}
    late_older = 0
    for d, entity, p in _genuine(mid_deliveries):
        version = clock.parse(p["date_last_modified"])  # exact microseconds
        lags.append((d.at_us - version) / clock.US)
        key = (entity, p["id"])
        if version < newest.get(key, -1):
            late_older += 1
        newest[key] = max(newest.get(key, -1), version)
    assert late_older > 0, "some older versions arrive after a newer one"
    assert min(lags) >= 0
    assert sorted(lags)[len(lags) // 2] < 10  # usually seconds
    assert any(600 <= lag <= 900 for lag in lags)  # sometimes 10-15 minutes


def test_fast_rendering_equals_the_reference_payloads(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = WorldPlan(Options(seed=21, orders=400, days=2))
    cat = catalog.assemble(
        plan,
        [
            m
            for g in range(catalog.n_groups(plan))
            for m in merchants.build_group(plan, g).merchants
        ],
    )
    checked: Counter[str] = Counter()
    fast_order, fast_payment = order_payloads.order_body, order_payloads.payment_json

    def order_body(o: Any, fmt: clock.Formatter, dlm: int) -> bytes:
        body = fast_order(o, fmt, dlm)
        assert body == events.dumps(order_payloads.order_payload(o, fmt, dlm))
        checked["orders"] += 1
        return body

    def payment_json(o: Any, fmt: clock.Formatter) -> str:
        text = fast_payment(o, fmt)
        assert text == events.dumps(order_payloads.payment_payload(o, fmt)).decode()
        checked["payments"] += 1
        return text

    monkeypatch.setattr(orders, "order_body", order_body)
    monkeypatch.setattr(orders, "payment_json", payment_json)
    monkeypatch.setattr(order_payloads, "payment_json", payment_json)
    orders.simulate(plan, cat, 0)
    assert checked["orders"] > 1000
    assert checked["payments"] > 1000
    api_plan = WorldPlan(Options(seed=21, orders=400, days=2, api_fields=True))
    checked.clear()
    orders.simulate(api_plan, cat, 0)  # the same merchants: api_fields changes no fact
    assert checked["orders"] > 1000


# Topic families by the prefixes of the documented names (the longest prefix decides).
FAMILIES = {
    "ORDER_": events.ORDERS,
    "MERCHANT_": events.MERCHANTS,
    "MERCHANT_PAYOUT_ACCOUNT_": events.PAYOUT_ACCOUNTS,
    "OFFER_": events.OFFERS,
    "COLLECTION_": events.COLLECTIONS,
    "COLLECTION_SYNC_": events.SYNCS,
    "PRODUCT_SYNC_": events.SYNCS,
    "PAYMENT_TRANSACTION_": events.PAYMENT_TRANSACTIONS,
    "TRANSFER_": events.TRANSFERS,
}


def _family(topic: str) -> str | None:
    prefixes = [p for p in FAMILIES if topic.startswith(p)]
    return FAMILIES[max(prefixes, key=len)] if prefixes else None


def test_topic_families() -> None:
    for entity, topics in events.TOPICS.items():
        assert all(_family(t) == entity for t in topics), entity
    for entity, topics in events.NEW_FAMILY_TOPICS.items():
        for t in topics:
            assert _family(t) == entity == events.entity_of_topic(t)
            assert not events.is_documented(t)
    assert all(_family(t) is None for t in events.UNKNOWN_TOPICS)
    assert events.new_family_topic(events.SYNCS, "COLLECTION_SYNC_FAILED") == (
        "COLLECTION_SYNC_QUEUED"
    )
