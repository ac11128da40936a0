"""Violet payload shapes for orders (bags and payment embedded), payment transactions, transfers.

Every key is a documented webhook field (violet-webhooks.md). With `Options.api_fields` the
payloads also carry the fields of Violet's API objects a future import would add: bag
`refunds[]`, transfer `merchant_id`, `related_distribution_ids`, `transfer_reversals[]`, and
`refund_id` on a reversal-failure error; nothing else changes.

`order_payload` is the reference shape of an order. Orders are re-sent whole on every bag change,
so rendering them dominates the simulator's cost: `order_body` produces the same bytes as
`events.dumps(order_payload(...))` (a test holds it to that) from JSON fragments rendered once per
order, once per bag version and once per payment version.

Timestamps are rendered with the id of the object they belong to (`clock.Formatter`), so one
instant reads the same wherever it appears.
"""

from __future__ import annotations

import json
from typing import Any

from simulator import clock, ids, money
from simulator.order_state import Bag, Order, Transfer

# The encoder behind events.dumps, without json.dumps' per-call set-up.
_j = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


# -- reference shapes ----------------------------------------------------------------------------


def payment_payload(o: Order, fmt: clock.Formatter) -> dict[str, Any]:
    p = o.payment
    pid = p.payment_id
    return {
        "id": pid,
        "order_id": o.order_id,
        "related_bags": [str(b.bag_id) for b in o.bags],
        "related_refunds": list(p.refund_ids),
        "payment_provider": "STRIPE",
        "payment_provider_transaction_id": p.provider_id,
        "amount": p.amount,
        "currency": o.currency,
        "capture_status": p.status,
        "capture_method": p.capture_method,
        "transfer_status": None,
        "transfer_method": p.transfer_method,
        "errors": [
            {
                "error_code": e["error_code"],
                "error_message": e["error_message"],
                "date_created": fmt(pid, e["date_created"]),
            }
            for e in p.errors
        ],
        "date_created": fmt(pid, p.created_s),
        "date_last_modified": fmt(pid, p.dlm),
    }


def _fulfillments(b: Bag, fmt: clock.Formatter) -> list[dict[str, Any]]:
    if b.fulfillment_status == "PROCESSING" or b.ship_s is None:
        return []
    return [
        {
            "id": b.bag_id,
            "carrier": b.carrier,
            "tracking_number": b.tracking,
            "status": b.fulfillment_status,
            "date_created": fmt(b.bag_id, b.ship_s),
        }
    ]


def _refunds(o: Order, b: Bag, fmt: clock.Formatter) -> list[dict[str, Any]]:
    """Violet's Refund objects of the bag (API only: `api_fields`)."""
    return [
        {
            "id": r.refund_id,
            "order_id": o.order_id,
            "bag_id": b.bag_id,
            "merchant_id": b.merchant.merchant_id,
            "payment_transaction_id": o.payment.payment_id,
            "amount": r.amount,
            "merchant_transfer_reversal_amount": r.reversal,
            "refund_currency": o.currency,
            "reason": r.reason,
            "status": "COMPLETED",
            "date_created": fmt(r.refund_id, r.at),
            "date_last_modified": fmt(r.refund_id, r.at),
        }
        for r in b.refunds
    ]


def bag_payload(o: Order, b: Bag, fmt: clock.Formatter) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": b.bag_id,
        "order_id": o.order_id,
        "merchant_id": b.merchant.merchant_id,
        "external_id": b.external_id,
        "status": b.status,
        "fulfillment_status": b.fulfillment_status,
        "financial_status": b.financial_status,
        "dispute_status": None,
        "skus": b.skus,
        "fulfillments": _fulfillments(b, fmt),
    }
    if o.api_fields:
        payload["refunds"] = _refunds(o, b, fmt)
    payload.update(
        {
            "sub_total": b.sub_total,
            "shipping_total": b.shipping_total,
            "tax_total": b.tax_total,
            "discount_total": b.discount_total,
            "total": b.total,
            "currency": o.currency,
            "commission_rate": money.rate_percent(b.commission_bp),
            "date_created": fmt(b.bag_id, o.created_s),
            "date_last_modified": fmt(b.bag_id, b.changed_s),
        }
    )
    return payload


def order_payload(o: Order, fmt: clock.Formatter, dlm: int) -> dict[str, Any]:
    sub, shipping, tax, discount, total = o.amounts
    oid = o.order_id
    return {
        "id": oid,
        "app_order_id": f"APP-{o.index:08d}",
        "app_customer_id": o.app_customer_id,
        "customer": o.customer,
        "shipping_address": o.shipping,
        "billing_address": o.billing,
        "bags": [bag_payload(o, b, fmt) for b in o.bags],
        "payment_transactions": [payment_payload(o, fmt)] if o.payment.dlm >= 0 else [],
        "sub_total": sub,
        "shipping_total": shipping,
        "tax_total": tax,
        "discount_total": discount,
        "total": total,
        "currency": o.currency,
        "status": o.status(),
        "channel": "APP",
        "errors": [],
        "date_created": fmt(oid, o.created_s),
        "date_last_modified": fmt(oid, dlm),
    }


# Keys only `api_fields` adds, per payload kind (tests strip them to compare worlds).
API_KEYS = {
    "bag": ("refunds",),
    "transfer": ("merchant_id", "related_distribution_ids", "transfer_reversals"),
    "transfer_error": ("refund_id",),
}


def transfer_payload(t: Transfer, fmt: clock.Formatter, dlm: int, api: bool) -> dict[str, Any]:
    tid = t.transfer_id
    lines = t.bags
    orders: list[int] = []
    for b in lines:
        oid = ids.ORDER_BASE + b.index // 4
        if oid not in orders:
            orders.append(oid)
    bags = [b.bag_id for b in lines]
    if t.related_form == "int":
        related: dict[str, Any] = {"related_orders": orders, "related_bags": bags}
    else:
        names = ("related_order_ids", "related_bag_ids") if t.related_form == "new" else None
        o_key, b_key = names or ("related_orders", "related_bags")
        related = {o_key: [str(x) for x in orders], b_key: [str(x) for x in bags]}
    errors = []
    for e in t.errors:
        item: dict[str, Any] = {
            "payout_transfer_id": tid,
            "error_code": e["error_code"],
            "error_message": e["error_message"],
        }
        if api and e.get("refund_id") is not None:
            item["refund_id"] = e["refund_id"]
        item["date_created"] = fmt(tid, e["date_created"])
        errors.append(item)
    payload: dict[str, Any] = {
        "id": tid,
        "payment_provider_id": t.provider_id,
        "payout_account_id": t.merchant.payout_account_id,
    }
    if api:
        payload["merchant_id"] = t.merchant.merchant_id
    payload.update(
        {
            "amount": t.amount,
            "currency": t.currency,
            "status": t.status,
            "payment_provider": "STRIPE",
            **related,
        }
    )
    if api:
        payload["related_distribution_ids"] = [str(ids.DISTRIBUTION_BASE + b.index) for b in lines]
        payload["transfer_reversals"] = list(t.reversals)
    payload.update(
        {
            "errors": errors,
            "date_created": fmt(tid, t.created_s),
            "date_last_modified": fmt(tid, dlm),
        }
    )
    return payload


# -- fast rendering of orders --------------------------------------------------------------------


def prepare(o: Order) -> None:
    """Render the parts of `o` that never change (call once its bags are filled).

    Strings known to be plain ASCII without quotes or backslashes (ids, codes, enum values,
    formatted dates, provider tokens) are quoted directly; everything else goes through `_j`.
    """
    sub, shipping, tax, discount, total = o.amounts
    head = {
        "id": o.order_id,
        "app_order_id": f"APP-{o.index:08d}",
        "app_customer_id": o.app_customer_id,
        "customer": o.customer,
        "shipping_address": o.shipping,
        "billing_address": o.billing,
    }
    o.head = _j(head)[:-1] + ',"bags":['  # the leading keys of order_payload, rendered once
    o.tail = (
        f'"sub_total":{sub},"shipping_total":{shipping},"tax_total":{tax},'
        f'"discount_total":{discount},"total":{total},"currency":"{o.currency}","status":'
    )
    for b in o.bags:
        b.head = (
            f'{{"id":{b.bag_id},"order_id":{o.order_id},"merchant_id":{b.merchant.merchant_id},'
            f'"external_id":'
        )
        b.skus_json = _j(b.skus)
        b.tail = (
            f',"sub_total":{b.sub_total},"shipping_total":{b.shipping_total},'
            f'"tax_total":{b.tax_total},"discount_total":{b.discount_total},"total":{b.total},'
            f'"currency":"{o.currency}",'
            f'"commission_rate":{money.rate_percent(b.commission_bp)!r},"date_created":'
        )


def _fulfillments_json(b: Bag, fmt: clock.Formatter) -> str:
    if b.fulfillment_status == "PROCESSING" or b.ship_s is None:
        return "[]"
    return (
        f'[{{"id":{b.bag_id},"carrier":"{b.carrier}","tracking_number":"{b.tracking}",'
        f'"status":"{b.fulfillment_status}","date_created":"{fmt(b.bag_id, b.ship_s)}"}}]'
    )


def _refunds_json(o: Order, b: Bag, fmt: clock.Formatter) -> str:
    return (
        "["
        + ",".join(
            f'{{"id":{r.refund_id},"order_id":{o.order_id},"bag_id":{b.bag_id},'
            f'"merchant_id":{b.merchant.merchant_id},'
            f'"payment_transaction_id":{o.payment.payment_id},"amount":{r.amount},'
            f'"merchant_transfer_reversal_amount":{r.reversal},'
            f'"refund_currency":"{o.currency}","reason":"{r.reason}","status":"COMPLETED",'
            f'"date_created":"{fmt(r.refund_id, r.at)}",'
            f'"date_last_modified":"{fmt(r.refund_id, r.at)}"}}'
            for r in b.refunds
        )
        + "]"
    )


def _bag_json(o: Order, b: Bag, fmt: clock.Formatter) -> str:
    key = (b.changed_s, fmt)
    if b.cache_key == key:
        return b.cache
    external = "null" if b.external_id is None else f'"{b.external_id}"'
    refunds = ""
    if o.api_fields:
        refunds = f',"refunds":{_refunds_json(o, b, fmt) if b.refunds else "[]"}'
    bid = b.bag_id
    b.cache = (
        f'{b.head}{external},"status":"{b.status}",'
        f'"fulfillment_status":"{b.fulfillment_status}",'
        f'"financial_status":"{b.financial_status}","dispute_status":null,'
        f'"skus":{b.skus_json},'
        f'"fulfillments":{_fulfillments_json(b, fmt) if b.ship_s is not None else "[]"}'
        f'{refunds}{b.tail}"{fmt(bid, o.created_s)}",'
        f'"date_last_modified":"{fmt(bid, b.changed_s)}"}}'
    )
    b.cache_key = key
    return b.cache


def payment_json(o: Order, fmt: clock.Formatter) -> str:
    """Exactly `_j(payment_payload(o, fmt))`, cached per payment version and spelling."""
    p = o.payment
    key = (p.dlm, fmt)
    if p.cache_key == key:
        return p.cache
    pid = p.payment_id
    bags = ",".join([f'"{b.bag_id}"' for b in o.bags])
    refunds = ",".join([f'"{r}"' for r in p.refund_ids])
    errors = ",".join(
        [
            f'{{"error_code":{e["error_code"]},"error_message":{_j(e["error_message"])},'
            f'"date_created":"{fmt(pid, e["date_created"])}"}}'
            for e in p.errors
        ]
    )
    p.cache = (
        f'{{"id":{pid},"order_id":{o.order_id},"related_bags":[{bags}],'
        f'"related_refunds":[{refunds}],"payment_provider":"STRIPE",'
        f'"payment_provider_transaction_id":"{p.provider_id}","amount":{p.amount},'
        f'"currency":"{o.currency}","capture_status":"{p.status}",'
        f'"capture_method":"{p.capture_method}","transfer_status":null,'
        f'"transfer_method":"{p.transfer_method}","errors":[{errors}],'
        f'"date_created":"{fmt(pid, p.created_s)}","date_last_modified":"{fmt(pid, p.dlm)}"}}'
    )
    p.cache_key = key
    return p.cache


def order_body(o: Order, fmt: clock.Formatter, dlm: int) -> bytes:
    """Exactly `events.dumps(order_payload(o, fmt, dlm))`, rendered from cached fragments."""
    bags = ",".join([_bag_json(o, b, fmt) for b in o.bags])
    payment = payment_json(o, fmt) if o.payment.dlm >= 0 else ""
    oid = o.order_id
    return (
        f'{o.head}{bags}],"payment_transactions":[{payment}],{o.tail}"{o.status()}",'
        f'"channel":"APP","errors":[],"date_created":"{fmt(oid, o.created_s)}",'
        f'"date_last_modified":"{fmt(oid, dlm)}"}}'
    ).encode()
