"""Payloads carry only documented webhook fields (violet-webhooks.md), and every documented mix.

The whitelists below are copied from violet-webhooks.md ("Entities (fields that arrive by
webhook)"), not from the simulator. `Options.api_fields` may add exactly the API-object fields
listed in API_ONLY, and changes nothing else.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import replace
from typing import Any

import pytest

from simulator import clock, events, rows, stream
from simulator.deliveries import GENUINE, MISSING_EVENT_ID, Delivery
from simulator.options import Options

Payload = dict[str, Any]
DATES = frozenset({"date_created", "date_last_modified"})

ORDER = DATES | {
    "id", "app_id", "developer_id", "app_order_id", "app_customer_id", "customer",
    "shipping_address", "billing_address", "payment_method", "bags", "payment_transactions",
    "sub_total", "shipping_total", "tax_total", "discount_total", "total", "currency", "status",
    "channel", "is_guest", "errors", "order_id", "order_status",
}  # fmt: skip
BAG = DATES | {
    "id", "order_id", "merchant_id", "app_id", "external_id", "status", "fulfillment_status",
    "financial_status", "dispute_status", "skus", "fulfillments", "shipping_method", "taxes",
    "discounts", "sub_total", "shipping_total", "tax_total", "discount_total", "total",
    "taxes_included", "commission_rate", "currency", "external_currency",
    "currency_exchange_rate", "channel", "transactions",
}  # fmt: skip
BAG_SKU = {"id", "offer_id", "sku_id", "name", "quantity", "price", "line_price", "status"}
PAYMENT = DATES | {
    "id", "order_id", "related_bags", "related_refunds", "payment_provider",
    "payment_provider_transaction_id", "amount", "currency", "capture_status", "capture_method",
    "transfer_status", "transfer_method", "metadata", "errors",
}  # fmt: skip
# The webhook samples' exact keys (the brief allows the newer related_*_ids names instead).
TRANSFER = DATES | {
    "id", "payment_provider_id", "payout_account_id", "amount", "currency", "status",
    "payment_provider", "errors",
}  # fmt: skip
TRANSFER_RELATED = ({"related_orders", "related_bags"}, {"related_order_ids", "related_bag_ids"})
TRANSFER_ERROR = {"payout_transfer_id", "error_code", "error_message", "date_created"}
PAYOUT_ACCOUNT = DATES | {
    "id", "merchant_id", "app_id", "is_active", "country_code", "payment_provider",
    "payment_provider_account_id", "payment_provider_account", "errors",
}  # fmt: skip
PROVIDER_ACCOUNT = {
    "account_type", "charges_enabled", "payouts_enabled", "banking_currency", "requirements",
}  # fmt: skip
REQUIREMENTS = {"currently_due", "past_due", "eventually_due", "pending_verification", "errors"}
MERCHANT = DATES | {
    "id", "merchant_name", "name", "platform", "store_url", "status", "connection_status",
    "default_currency", "commission_rate",
}  # fmt: skip
OFFER = DATES | {
    "id", "name", "merchant_id", "available", "visible", "status", "min_price", "max_price",
    "currency", "skus",
}  # fmt: skip
COLLECTION = DATES | {"id", "merchant_id", "external_id", "name", "type", "handle"}
SYNC = DATES | {"id", "merchant_id", "status"}

API_ONLY = {
    "bag": {"refunds"},
    "transfer": {"merchant_id", "transfer_reversals", "related_distribution_ids"},
    "transfer_error": {"refund_id"},
}


def _payloads(ds: list[Delivery]) -> list[tuple[str, str, Payload]]:
    """(topic, entity, payload) of every genuine JSON delivery of a known family."""
    out = []
    for d in ds:
        topic = d.header("X-Violet-Topic")
        entity = events.entity_of_topic(topic) if topic else None
        if d.kind in (GENUINE, MISSING_EVENT_ID) and topic and entity:
            out.append((topic, entity, json.loads(d.body)))
    return out


def _undocumented(entity: str, p: Payload, api: bool) -> list[str]:
    """Keys of `p` (and of the nested objects the page lists) that are not documented."""
    bad: list[str] = []

    def check(where: str, keys: Any, allowed: set[str] | frozenset[str]) -> None:
        bad.extend(f"{where}.{k}" for k in keys if k not in allowed)

    extra = API_ONLY if api else defaultdict(set)
    if entity == events.ORDERS:
        check("order", p, ORDER)
        for b in p["bags"]:
            check("bag", b, BAG | extra["bag"])
            for s in b["skus"]:
                check("bag.skus", s, BAG_SKU)
        for pt in p["payment_transactions"]:
            check("payment", pt, PAYMENT)
    elif entity == events.PAYMENT_TRANSACTIONS:
        check("payment", p, PAYMENT)
    elif entity == events.TRANSFERS:
        related = next((r for r in TRANSFER_RELATED if r <= set(p)), set())
        assert related, "a transfer names its orders and bags"
        check("transfer", p, TRANSFER | related | extra["transfer"])
        for e in p["errors"]:
            check("transfer.errors", e, TRANSFER_ERROR | extra["transfer_error"])
            assert set(e) >= TRANSFER_ERROR
    elif entity == events.PAYOUT_ACCOUNTS:
        check("payout_account", p, PAYOUT_ACCOUNT)
        check("payment_provider_account", p["payment_provider_account"], PROVIDER_ACCOUNT)
        check("requirements", p["payment_provider_account"]["requirements"], REQUIREMENTS)
        assert all(isinstance(e, str) for e in p["errors"])
    else:
        allowed = {
            events.MERCHANTS: MERCHANT,
            events.OFFERS: OFFER,
            events.COLLECTIONS: COLLECTION,
            events.SYNCS: SYNC,
        }[entity]
        check(entity, p, allowed)
    return bad


def test_default_payloads_carry_only_documented_fields(
    mix_deliveries: list[Delivery], mid_deliveries: list[Delivery]
) -> None:
    seen: Counter[str] = Counter()
    for ds in (mix_deliveries, mid_deliveries):
        for _, entity, p in _payloads(ds):
            assert _undocumented(entity, p, api=False) == [], (entity, p["id"])
            seen[entity] += 1
    assert set(seen) == set(events.ENTITIES)


def _strip(entity: str, p: Payload) -> Payload:
    if entity == events.ORDERS:
        return {**p, "bags": [{k: v for k, v in b.items() if k != "refunds"} for b in p["bags"]]}
    if entity == events.TRANSFERS:
        kept = {k: v for k, v in p.items() if k not in API_ONLY["transfer"]}
        kept["errors"] = [
            {k: v for k, v in e.items() if k not in API_ONLY["transfer_error"]} for e in p["errors"]
        ]
        return kept
    return p


def _entity_of_body(p: Payload) -> str | None:
    """The entity of a body delivered without X-Violet-Topic (only orders and transfers vary)."""
    if "bags" in p:
        return events.ORDERS
    if "payment_provider_id" in p:
        return events.TRANSFERS
    return None


API_WORLD = Options(seed=29, orders=500, days=2)


@pytest.mark.timeout(120)
def test_api_fields_add_only_their_keys_to_the_same_world(secret: str) -> None:
    plain = stream.deliveries(API_WORLD, secret, workers=1)
    api = stream.deliveries(replace(API_WORLD, api_fields=True), secret, workers=1)
    assert len(api) == len(plain)
    added: Counter[str] = Counter()
    compared = 0
    for a, d in zip(api, plain, strict=True):
        assert (a.at_us, a.rank, a.seq, a.kind) == (d.at_us, d.rank, d.seq, d.kind)
        varying = ("X-Violet-Hmac", "X-Violet-Entity-Length")
        assert [h for h in a.headers if h[0] not in varying] == [
            h for h in d.headers if h[0] not in varying
        ]
        topic = d.header("X-Violet-Topic")
        try:
            expected = json.loads(d.body)
        except ValueError:
            continue  # a truncated body: truncated from a different JSON
        got = json.loads(a.body)
        entity = events.entity_of_topic(topic) if topic else _entity_of_body(got)
        if entity is None:  # a topic of no known family
            assert a.body == d.body
            continue
        assert _undocumented(entity, got, api=True) == []
        assert events.dumps(_strip(entity, got)) == d.body == events.dumps(expected)
        compared += 1
        if entity == events.ORDERS:
            added["refunds"] += sum(1 for b in got["bags"] if b["refunds"])
        if entity == events.TRANSFERS:
            added["merchant_id"] += "merchant_id" in got
            added["transfer_reversals"] += bool(got["transfer_reversals"])
            added["related_distribution_ids"] += bool(got["related_distribution_ids"])
            added["refund_id"] += sum(1 for e in got["errors"] if "refund_id" in e)
    assert compared > 5_000
    assert all(added[k] > 0 for k in (*API_ONLY["transfer"], "refunds", "refund_id")), added


def _spelling(stamp: str) -> str:
    if stamp.endswith("+0000"):
        return "+0000"
    return "ms" if stamp[-5] == "." else "Z"


def test_every_documented_mix_is_in_a_2000_order_world(mix_deliveries: list[Delivery]) -> None:
    payloads = _payloads(mix_deliveries)
    current: dict[str, dict[int, tuple[int, Payload]]] = defaultdict(dict)
    payment_versions: dict[int, dict[int, Payload]] = defaultdict(dict)
    spellings: Counter[str] = Counter()
    topics: Counter[str] = Counter()
    instants: dict[tuple[int, int], set[int]] = defaultdict(set)
    transfer_topics: dict[int, set[str]] = defaultdict(set)
    for topic, entity, p in payloads:
        topics[topic] += 1
        spellings[_spelling(p["date_last_modified"])] += 1
        version = rows.version_of(p)
        if version >= current[entity].get(p["id"], (-1, {}))[0]:
            current[entity][p["id"]] = (version, p)
        embedded = p["payment_transactions"] if entity == events.ORDERS else []
        if entity == events.PAYMENT_TRANSACTIONS:
            embedded = [p]
        for pt in embedded:
            at = rows.version_of(pt)
            payment_versions[pt["id"]][at] = pt
            instants[(pt["id"], at // clock.US)].add(at)
        if entity == events.TRANSFERS:
            transfer_topics[p["id"]].add(topic)
    assert all(spellings[s] > 100 for s in ("+0000", "Z", "ms")), spellings
    # One version, one instant, however (and wherever) it is spelled.
    assert all(len(at) == 1 for at in instants.values())

    payments = {i: p for i, (_, p) in current[events.PAYMENT_TRANSACTIONS].items()}
    methods = Counter((p["capture_method"], p["transfer_method"]) for p in payments.values())
    assert {m for m, _ in methods} == {"AUTOMATIC", "CUSTOM"}
    assert {m for _, m in methods} == {"AUTOMATIC", "DISABLED"}
    custom_captured = [
        (min(v for v, x in payment_versions[i].items() if x["capture_status"] == "CAPTURED")
         - clock.parse(p["date_created"])) / clock.US
        for i, p in payments.items()
        if p["capture_method"] == "CUSTOM" and p["capture_status"] == "CAPTURED"
    ]  # fmt: skip
    assert custom_captured
    assert all(2 * 3600 <= s <= 5 * 3600 + 1 for s in custom_captured)

    transfers = [p for _, p in current[events.TRANSFERS].values()]
    covered = {b for t in transfers for b in rows.related_ids(t, "bags")}
    disabled_orders = {
        p["order_id"] for p in payments.values() if p["transfer_method"] == "DISABLED"
    }
    orders = {i: p for i, (_, p) in current[events.ORDERS].items()}
    assert not {b["id"] for i in disabled_orders for b in orders[i]["bags"]} & covered
    assert any(t.get("related_bags") and isinstance(t["related_bags"][0], int) for t in transfers)
    assert any("related_bag_ids" in t for t in transfers)
    netted = [
        t
        for t in transfers
        if len(set(rows.related_ids(t, "bags"))) >= 2
        and len(set(rows.related_ids(t, "orders"))) >= 2
    ]
    assert netted
    listed = Counter(b for t in transfers for b in rows.related_ids(t, "bags"))
    assert any(n > 1 for n in listed.values()), "a refunded bag nets into a later batch"

    reversal_failed = [
        t
        for t in transfers
        if "TRANSFER_REVERSAL_FAILED" in transfer_topics[t["id"]] and t["status"] == "SENT"
    ]
    assert reversal_failed
    assert all(t["errors"] for t in reversal_failed)
    partial = [t for t in transfers if "TRANSFER_PARTIALLY_SENT" in transfer_topics[t["id"]]]
    assert partial
    assert all(t["status"] == "SENT" for t in partial)

    refunded = 0
    for versions in payment_versions.values():
        ordered = [p for _, p in sorted(versions.items())]
        captured = [p for p in ordered if p["capture_status"] == "CAPTURED"]
        after = [p for p in ordered if p["capture_status"] in ("REFUNDED", "PARTIALLY_REFUNDED")]
        if captured and after:
            refunded += 1
            assert {p["amount"] for p in after} == {captured[0]["amount"]}
            assert after[-1]["related_refunds"]
            assert all(isinstance(r, str) for r in after[-1]["related_refunds"])
    assert refunded > 10
    assert any(topics[t] for ts in events.NEW_FAMILY_TOPICS.values() for t in ts)
