"""Violet payload shapes for orders (bags and payment embedded), payment transactions, transfers.

`order_payload` is the reference shape of an order. Orders are re-sent whole on every bag change,
so rendering them dominates the simulator's cost: `order_body` produces the same bytes as
`events.dumps(order_payload(...))` (a test holds it to that) from JSON fragments rendered once per
order, once per bag version and once per payment version.
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
    return {
        "id": p.payment_id,
        "order_id": o.order_id,
        "related_bags": [str(b.bag_id) for b in o.bags],
        "related_refunds": list(p.refund_ids),
        "payment_provider": "STRIPE",
        "payment_provider_transaction_id": p.provider_id,
        "amount": p.amount,
        "currency": o.currency,
        "capture_status": p.status,
        "capture_method": "AUTOMATIC",
        "transfer_status": None,
        "transfer_method": "AUTOMATIC",
        "errors": [
            {
                "error_code": e["error_code"],
                "error_message": e["error_message"],
                "date_created": fmt(e["date_created"]),
            }
            for e in p.errors
        ],
        "date_created": fmt(p.created_s),
        "date_last_modified": fmt(p.dlm),
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
            "date_created": fmt(b.ship_s),
        }
    ]


def _refunds(o: Order, b: Bag, fmt: clock.Formatter) -> list[dict[str, Any]]:
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
            "date_created": fmt(r.at),
            "date_last_modified": fmt(r.at),
        }
        for r in b.refunds
    ]


def bag_payload(o: Order, b: Bag, fmt: clock.Formatter) -> dict[str, Any]:
    return {
        "id": b.bag_id,
        "order_id": o.order_id,
        "merchant_id": b.merchant.merchant_id,
        "merchant_name": b.merchant.name,
        "external_id": b.external_id,
        "status": b.status,
        "fulfillment_status": b.fulfillment_status,
        "financial_status": b.financial_status,
        "dispute_status": None,
        "skus": b.skus,
        "fulfillments": _fulfillments(b, fmt),
        "refunds": _refunds(o, b, fmt),
        "sub_total": b.sub_total,
        "shipping_total": b.shipping_total,
        "tax_total": b.tax_total,
        "discount_total": b.discount_total,
        "total": b.total,
        "currency": o.currency,
        "commission_rate": money.rate_percent(b.commission_bp),
        "date_created": fmt(o.created_s),
        "date_last_modified": fmt(b.changed_s),
    }


def order_payload(o: Order, fmt: clock.Formatter, dlm: int) -> dict[str, Any]:
    sub, shipping, tax, discount, total = o.amounts
    return {
        "id": o.order_id,
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
        "date_created": fmt(o.created_s),
        "date_last_modified": fmt(dlm),
    }


def transfer_payload(t: Transfer, fmt: clock.Formatter, dlm: int) -> dict[str, Any]:
    orders: list[str] = []
    for b in t.bags:
        oid = str(ids.ORDER_BASE + b.index // 4)
        if oid not in orders:
            orders.append(oid)
    errors = []
    for e in t.errors:
        shown = {**e, "date_created": fmt(e["date_created"])}
        if "date_resolved" in e:
            shown["date_resolved"] = fmt(e["date_resolved"])
        errors.append(shown)
    return {
        "id": t.transfer_id,
        t.provider_key: t.provider_id,
        "payout_account_id": t.merchant.payout_account_id,
        "merchant_id": t.merchant.merchant_id,
        "amount": t.amount,
        "currency": t.currency,
        "status": t.status,
        "payment_provider": "STRIPE",
        "related_orders": orders,
        "related_bags": [str(b.bag_id) for b in t.bags],
        "related_distributions": [str(ids.DISTRIBUTION_BASE + b.index) for b in t.bags],
        "transfer_reversals": list(t.reversals),
        "errors": errors,
        "date_created": fmt(t.created_s),
        "date_last_modified": fmt(dlm),
    }


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
            f'"merchant_name":{_j(b.merchant.name)},"external_id":'
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
        f'"status":"{b.fulfillment_status}","date_created":"{fmt(b.ship_s)}"}}]'
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
            f'"date_created":"{fmt(r.at)}","date_last_modified":"{fmt(r.at)}"}}'
            for r in b.refunds
        )
        + "]"
    )


def _bag_json(o: Order, b: Bag, fmt: clock.Formatter) -> str:
    key = (b.changed_s, fmt)
    if b.cache_key == key:
        return b.cache
    external = "null" if b.external_id is None else f'"{b.external_id}"'
    b.cache = (
        f'{b.head}{external},"status":"{b.status}",'
        f'"fulfillment_status":"{b.fulfillment_status}",'
        f'"financial_status":"{b.financial_status}","dispute_status":null,'
        f'"skus":{b.skus_json},'
        f'"fulfillments":{_fulfillments_json(b, fmt) if b.ship_s is not None else "[]"},'
        f'"refunds":{_refunds_json(o, b, fmt) if b.refunds else "[]"}'
        f'{b.tail}"{fmt(o.created_s)}","date_last_modified":"{fmt(b.changed_s)}"}}'
    )
    b.cache_key = key
    return b.cache


def payment_json(o: Order, fmt: clock.Formatter) -> str:
    """Exactly `_j(payment_payload(o, fmt))`, cached per payment version and spelling."""
    p = o.payment
    key = (p.dlm, fmt)
    if p.cache_key == key:
        return p.cache
    bags = ",".join([f'"{b.bag_id}"' for b in o.bags])
    refunds = ",".join([f'"{r}"' for r in p.refund_ids])
    errors = ",".join(
        [
            f'{{"error_code":{e["error_code"]},"error_message":{_j(e["error_message"])},'
            f'"date_created":"{fmt(e["date_created"])}"}}'
            for e in p.errors
        ]
    )
    p.cache = (
        f'{{"id":{p.payment_id},"order_id":{o.order_id},"related_bags":[{bags}],'
        f'"related_refunds":[{refunds}],"payment_provider":"STRIPE",'
        f'"payment_provider_transaction_id":"{p.provider_id}","amount":{p.amount},'
        f'"currency":"{o.currency}","capture_status":"{p.status}","capture_method":"AUTOMATIC",'
        f'"transfer_status":null,"transfer_method":"AUTOMATIC","errors":[{errors}],'
        f'"date_created":"{fmt(p.created_s)}","date_last_modified":"{fmt(p.dlm)}"}}'
    )
    p.cache_key = key
    return p.cache


def order_body(o: Order, fmt: clock.Formatter, dlm: int) -> bytes:
    """Exactly `events.dumps(order_payload(o, fmt, dlm))`, rendered from cached fragments."""
    bags = ",".join([_bag_json(o, b, fmt) for b in o.bags])
    payment = payment_json(o, fmt) if o.payment.dlm >= 0 else ""
    return (
        f'{o.head}{bags}],"payment_transactions":[{payment}],{o.tail}"{o.status()}",'
        f'"channel":"APP","errors":[],"date_created":"{fmt(o.created_s)}",'
        f'"date_last_modified":"{fmt(dlm)}"}}'
    ).encode()
