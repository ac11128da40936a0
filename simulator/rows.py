"""Current-state rows of each entity table, read out of Violet payloads.

The truth's entity files hold one row per entity id: the fields below taken from the version with
the greatest `date_last_modified`. Bags and their SKU lines come out of order payloads. Money
columns are integer minor units named `*_minor` (beside `currency`); `commission_rate_bp` is the
payload's percentage in basis points; timestamps are exact epoch microseconds (UTC) here and
`timestamp[us, UTC]` in the files.

Only what webhooks deliver is read (documented fields, violet-webhooks.md, and the topic): never
the simulator's internal state, so tests can rebuild the same rows from the delivered bytes. A
sync's `type` is its topic's (PRODUCT_SYNC_* or COLLECTION_SYNC_*); a transfer's `merchant_id`
is the merchant of its payout account (`accounts`, built from payout-account payloads); its
related ids come as strings or integers, under `related_orders`/`related_bags` or the newer
`related_order_ids`/`related_bag_ids`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator import clock, events, money

INT, STR, BOOL, TS, INT_LIST = "int", "str", "bool", "ts", "int_list"

Row = tuple[Any, ...]

SCHEMAS: dict[str, tuple[tuple[str, str], ...]] = {
    "orders": (
        ("order_id", INT),
        ("app_order_id", STR),
        ("status", STR),
        ("currency", STR),
        ("sub_total_minor", INT),
        ("shipping_total_minor", INT),
        ("tax_total_minor", INT),
        ("discount_total_minor", INT),
        ("total_minor", INT),
        ("bag_count", INT),
        ("date_created", TS),
        ("date_last_modified", TS),
    ),
    "bags": (
        ("bag_id", INT),
        ("order_id", INT),
        ("merchant_id", INT),
        ("status", STR),
        ("fulfillment_status", STR),
        ("financial_status", STR),
        ("currency", STR),
        ("sub_total_minor", INT),
        ("shipping_total_minor", INT),
        ("tax_total_minor", INT),
        ("discount_total_minor", INT),
        ("total_minor", INT),
        ("commission_rate_bp", INT),
        ("commission_minor", INT),
        ("merchant_amount_minor", INT),
        ("date_last_modified", TS),
    ),
    "bag_skus": (
        ("bag_sku_id", INT),
        ("bag_id", INT),
        ("order_id", INT),
        ("sku_id", INT),
        ("offer_id", INT),
        ("quantity", INT),
        ("price_minor", INT),
        ("line_price_minor", INT),
    ),
    "merchants": (
        ("merchant_id", INT),
        ("merchant_name", STR),
        ("platform", STR),
        ("status", STR),
        ("connection_status", STR),
        ("default_currency", STR),
        ("commission_rate_bp", INT),
        ("date_last_modified", TS),
    ),
    "offers": (
        ("offer_id", INT),
        ("merchant_id", INT),
        ("name", STR),
        ("status", STR),
        ("available", BOOL),
        ("visible", BOOL),
        ("currency", STR),
        ("min_price_minor", INT),
        ("max_price_minor", INT),
        ("sku_count", INT),
        ("date_last_modified", TS),
    ),
    "collections": (
        ("collection_id", INT),
        ("merchant_id", INT),
        ("name", STR),
        ("type", STR),
        ("handle", STR),
        ("date_last_modified", TS),
    ),
    "syncs": (
        ("sync_id", INT),
        ("merchant_id", INT),
        ("type", STR),
        ("status", STR),
        ("date_last_modified", TS),
    ),
    "payout_accounts": (
        ("payout_account_id", INT),
        ("merchant_id", INT),
        ("is_active", BOOL),
        ("charges_enabled", BOOL),
        ("payouts_enabled", BOOL),
        ("currently_due_count", INT),
        ("past_due_count", INT),
        ("payment_provider_account_id", STR),
        ("date_last_modified", TS),
    ),
    "payment_transactions": (
        ("payment_transaction_id", INT),
        ("order_id", INT),
        ("capture_status", STR),
        ("capture_method", STR),
        ("transfer_method", STR),
        ("currency", STR),
        ("amount_minor", INT),
        ("refund_count", INT),
        ("date_created", TS),
        ("date_last_modified", TS),
    ),
    "transfers": (
        ("transfer_id", INT),
        ("merchant_id", INT),
        ("payout_account_id", INT),
        ("status", STR),
        ("currency", STR),
        ("amount_minor", INT),
        ("related_order_ids", INT_LIST),
        ("related_bag_ids", INT_LIST),
        ("error_count", INT),
        ("date_created", TS),
        ("date_last_modified", TS),
    ),
}
TABLES: tuple[str, ...] = tuple(SCHEMAS)


_ts = clock.parse  # exact epoch microseconds


def version_of(payload: dict[str, Any]) -> int:
    """The payload's `date_last_modified` as exact epoch microseconds (its version)."""
    return clock.parse(payload["date_last_modified"])


def sync_type(topic: str) -> str:
    """PRODUCT or COLLECTION: a sync's type comes from its topic, not its body."""
    if topic.startswith("PRODUCT_SYNC_"):
        return "PRODUCT"
    if topic.startswith("COLLECTION_SYNC_"):
        return "COLLECTION"
    raise ValueError(f"not a sync topic: {topic!r}")


def related_ids(p: dict[str, Any], name: str) -> list[int]:
    """A transfer's `related_<name>` ids (or the newer `related_<name>_ids`), as integers."""
    values = p.get(f"related_{name}")
    if values is None:
        values = p.get(f"related_{name[:-1]}_ids") or []
    return [int(x) for x in values]


def _bag_rows(b: dict[str, Any]) -> Row:
    bp = money.rate_bp(b["commission_rate"])
    return (
        b["id"],
        b["order_id"],
        b["merchant_id"],
        b["status"],
        b["fulfillment_status"],
        b["financial_status"],
        b["currency"],
        b["sub_total"],
        b["shipping_total"],
        b["tax_total"],
        b["discount_total"],
        b["total"],
        bp,
        money.commission(b["sub_total"], bp),
        money.merchant_amount(
            b["sub_total"], b["tax_total"], b["shipping_total"], b["discount_total"], bp
        ),
        _ts(b["date_last_modified"]),
    )


def rows(
    entity: str,
    p: dict[str, Any],
    topic: str | None = None,
    accounts: Mapping[int, int] | None = None,
) -> dict[str, list[Row]]:
    """The rows one payload of `entity` contributes, per table. Syncs need the `topic` that
    announced the payload; transfers need `accounts` (payout account id -> merchant id)."""
    if entity == events.ORDERS:
        bags = p["bags"]
        return {
            "orders": [
                (
                    p["id"],
                    p["app_order_id"],
                    p["status"],
                    p["currency"],
                    p["sub_total"],
                    p["shipping_total"],
                    p["tax_total"],
                    p["discount_total"],
                    p["total"],
                    len(bags),
                    _ts(p["date_created"]),
                    _ts(p["date_last_modified"]),
                )
            ],
            "bags": [_bag_rows(b) for b in bags],
            "bag_skus": [
                (
                    s["id"],
                    b["id"],
                    p["id"],
                    s["sku_id"],
                    s["offer_id"],
                    s["quantity"],
                    s["price"],
                    s["line_price"],
                )
                for b in bags
                for s in b["skus"]
            ],
        }
    if entity == events.MERCHANTS:
        name = p["merchant_name"] if "merchant_name" in p else p["name"]
        row: Row = (
            p["id"],
            name,
            p["platform"],
            p["status"],
            p["connection_status"],
            p["default_currency"],
            money.rate_bp(p["commission_rate"]),
            _ts(p["date_last_modified"]),
        )
        return {"merchants": [row]}
    if entity == events.PAYOUT_ACCOUNTS:
        acct = p["payment_provider_account"]
        req = acct["requirements"]
        row = (
            p["id"],
            p["merchant_id"],
            p["is_active"],
            acct["charges_enabled"],
            acct["payouts_enabled"],
            len(req["currently_due"]),
            len(req["past_due"]),
            p["payment_provider_account_id"],
            _ts(p["date_last_modified"]),
        )
        return {"payout_accounts": [row]}
    if entity == events.OFFERS:
        row = (
            p["id"],
            p["merchant_id"],
            p["name"],
            p["status"],
            p["available"],
            p["visible"],
            p["currency"],
            p["min_price"],
            p["max_price"],
            len(p["skus"]),
            _ts(p["date_last_modified"]),
        )
        return {"offers": [row]}
    if entity == events.COLLECTIONS:
        row = (
            p["id"],
            p["merchant_id"],
            p["name"],
            p["type"],
            p["handle"],
            _ts(p["date_last_modified"]),
        )
        return {"collections": [row]}
    if entity == events.SYNCS:
        if topic is None:
            raise ValueError("a sync's row needs its topic")
        row = (
            p["id"],
            p["merchant_id"],
            sync_type(topic),
            p["status"],
            _ts(p["date_last_modified"]),
        )
        return {"syncs": [row]}
    if entity == events.PAYMENT_TRANSACTIONS:
        row = (
            p["id"],
            p["order_id"],
            p["capture_status"],
            p.get("capture_method") or "AUTOMATIC",
            p.get("transfer_method") or "AUTOMATIC",
            p["currency"],
            p["amount"],
            len(p["related_refunds"]),
            _ts(p["date_created"]),
            _ts(p["date_last_modified"]),
        )
        return {"payment_transactions": [row]}
    if entity == events.TRANSFERS:
        if accounts is None:
            raise ValueError("a transfer's row needs the payout accounts' merchants")
        row = (
            p["id"],
            accounts[p["payout_account_id"]],
            p["payout_account_id"],
            p["status"],
            p["currency"],
            p["amount"],
            related_ids(p, "orders"),
            related_ids(p, "bags"),
            len(p.get("errors") or []),
            _ts(p["date_created"]),
            _ts(p["date_last_modified"]),
        )
        return {"transfers": [row]}
    raise ValueError(f"no rows for entity {entity!r}")


def collect(
    entity: str,
    finals: list[events.Final],
    into: dict[str, list[Row]],
    accounts: Mapping[int, int] | None = None,
) -> None:
    """Append the rows of `finals` ((topic, payload) pairs) to `into` (table -> rows)."""
    for topic, p in finals:
        for table, table_rows in rows(entity, p, topic, accounts).items():
            into.setdefault(table, []).extend(table_rows)
