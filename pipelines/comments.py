"""DuckDB COMMENTs for every warehouse table and column, applied after each build step, and each
table's Dagster asset spec (described by the same text).

Column meanings are shared across tables (an `order_id` is an order id wherever it appears);
a table may override one. A column without a description fails the definitions test, so a new
column cannot ship undocumented.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg
import duckdb

from pipelines.sql import CORE_ENTITIES

TABLES: dict[str, str] = {
    "staging.topics": "Known Violet topics: the entity each one's body describes, canonical spelling.",
    "staging.deliveries": "One row per stored webhook delivery (raw Parquet row), typed and classified.",
    "staging.events": "One row per logical event (coalesce(X-Violet-Event-Id-Source, X-Violet-Event-Id, body hash)).",
    "staging.quarantine": "Stored deliveries that cannot be modeled, with the reason, body and headers.",
    "ops.loaded_files": "Ledger of raw Parquet files loaded into staging: a file is loaded once.",
    "ops.model_state": "Watermarks: the last staging batch each incremental step has processed.",
    "ops.event_counts": "Per topic and day received: deliveries, unique events, retries, resends, quarantined.",
    "ops.delivery_lag": "Per topic and day received: received_at - date_last_modified, p50/p95/max.",
    "core.orders": "Current state of every order (newest date_last_modified wins).",
    "core.bags": "Current state of every bag (one per merchant in an order), from orders' bags[].",
    "core.bag_skus": "Current state of every bag line (SKU line), from orders' bags[].skus[].",
    "core.payment_transactions": "Current state of every payment transaction (own topics and embedded in orders).",
    "core.transfers": "Current state of every transfer of money to a merchant's payout account.",
    "core.merchants": "Current state of every merchant.",
    "core.offers": "Current state of every offer (product).",
    "core.collections": "Current state of every collection.",
    "core.syncs": "Current state of every product or collection sync.",
    "core.payout_accounts": "Current state of every merchant payout account.",
}
for _entity in CORE_ENTITIES:
    TABLES[f"core.{_entity}_history"] = (
        f"Every version of core.{_entity}: one row per (id, date_last_modified), with validity;"
        " typed columns only (a version's JSON: staging.events.payload by event_key)."
    )

COLUMNS: dict[str, str] = {
    "account_type": "Provider account type (e.g. Stripe express/custom).",
    "amount_minor": "Amount in minor units (cents) of `currency`.",
    "app_customer_id": "The channel's own customer id.",
    "app_order_id": "The channel's own order id.",
    "available": "Whether the offer can be bought.",
    "bag_count": "Number of bags in the order version.",
    "bag_id": "Bag id (X-Violet-Bag-Id on deliveries; bags[].id in payloads).",
    "batch_id": "Staging load that last wrote the row (ops.loaded_files.batch_id); for staging.events, the load that set its first delivery (later loads may update only its counts).",
    "body": "The delivery's exact body bytes.",
    "body_sha256": "Hex SHA-256 of the body.",
    "bytes": "Size of the raw file in bytes.",
    "canonical_topic": "Topic with ambiguous spellings unified (ORDER_CANCELED -> ORDER_CANCELLED, ...).",
    "capture_method": "How the payment is captured (AUTOMATIC, MANUAL, ...).",
    "capture_status": "Payment capture status (AUTHORIZED, CAPTURED, REFUNDED, FAILED, ...; unknown values kept).",
    "channel": "Channel the order came through.",
    "charges_enabled": "Provider account can accept charges.",
    "commission_rate": "Channel commission in percent (15.0 = 15 %).",
    "connection_status": "Merchant connection status (CONNECTED, NOT_CONNECTED, REQUESTED, DECLINED).",
    "country_code": "ISO country of the payout account.",
    "currency": "ISO-4217 currency of the money columns beside it.",
    "currently_due": "Provider requirements currently due.",
    "date_created": "When the entity was created (UTC).",
    "date_last_modified": "The entity's version: when Violet last changed it (UTC).",
    "day": "UTC day the deliveries were received.",
    "dedupe_key": "X-Violet-Event-Id, or 'sha256:' || body hash when missing: retries share it.",
    "default_currency": "Merchant's default currency.",
    "deliveries": "Number of deliveries.",
    "delivery_id": "X-Violet-Event-Id of the delivery (the same on retries).",
    "delivery_kind": "first, retry (same delivery id seen earlier) or resend (X-Violet-Event-Id-Source set).",
    "discount_total_minor": "Discounts in minor units.",
    "dispute_status": "Dispute status of the bag, if any.",
    "entity": "Entity type the topic's body describes (order, merchant, transfer, ...).",
    "entity_id": "The body's top-level id.",
    "errors": "Errors reported by Violet or the provider (JSON list).",
    "event_key": "Logical event key: coalesce(X-Violet-Event-Id-Source, X-Violet-Event-Id, 'sha256:' || body hash).",
    "external_id": "Id of the entity on the merchant's platform.",
    "file": "Raw file path under raw/violet.",
    "financial_status": "Bag financial status (PAID, REFUNDED, ...).",
    "fulfillment_status": "Bag fulfillment status (PROCESSING, SHIPPED, DELIVERED, ...).",
    "handle": "Collection handle.",
    "headers": "Request headers as stored in raw (JSON object; credentials redacted).",
    "id": "Violet id of the entity.",
    "ingest_instance": "Ingest process that stored the delivery.",
    "is_active": "Whether the payout account is the merchant's active one.",
    "is_current": "True for the version that is the current state.",
    "last_received_at": "When the last delivery of the event arrived.",
    "last_topic": "Topic of the event that carried this version.",
    "line_price_minor": "Line total in minor units.",
    "loaded_at": "When the file was loaded.",
    "max_price_minor": "Highest SKU price in minor units.",
    "max_seconds": "Longest lag in seconds.",
    "merchant_id": "Merchant id.",
    "merchant_name": "Merchant name (older payloads: name).",
    "min_price_minor": "Lowest SKU price in minor units.",
    "model": "Incremental step the watermark belongs to.",
    "n_deliveries": "Deliveries of the event (first + retries + resends).",
    "n_resends": "Resends of the event.",
    "n_retries": "Retries of the event.",
    "name": "Name.",
    "offer_id": "Offer id.",
    "order_id": "Order id.",
    "p50_seconds": "Median lag in seconds.",
    "p95_seconds": "95th percentile lag in seconds.",
    "past_due": "Provider requirements past due (payouts stop while any are).",
    "payload": "The entity's JSON as received: the event's body (staging.events), or the current"
    " version's (core tables; bags, bag lines and embedded payment transactions: their element"
    " of the order's JSON).",
    "payment_provider": "Payment provider (STRIPE, ...).",
    "payment_provider_account_id": "Provider's account id (Stripe acct_...).",
    "payment_provider_id": "Provider's transfer id (also spelled payment_provider_transfer_id).",
    "payment_provider_transaction_id": "Provider's payment id (Stripe pi_...).",
    "payout_account_id": "Payout account id.",
    "payouts_enabled": "Provider account can receive payouts.",
    "platform": "Merchant's e-commerce platform (SHOPIFY, WOOCOMMERCE, ...).",
    "price_minor": "Unit price in minor units.",
    "quantity": "Quantity.",
    "quarantine_reason": "Why the delivery cannot be modeled (NULL when it can).",
    "quarantined": "Quarantined deliveries.",
    "raw_file": "Raw file (under raw/violet) the delivery was loaded from.",
    "reason": "Quarantine reason: invalid_json, missing_topic, unknown_topic, missing_id, wrong_type, missing_timestamp, bad_timestamp.",
    "received_at": "When the delivery (for events and versions: the first one) reached the ingest service (UTC).",
    "related_bags": "Bag ids the entity covers (strings, as Violet sends them).",
    "related_distributions": "Distribution ids the transfer covers.",
    "related_orders": "Order ids the transfer covers (strings).",
    "resends": "Resent deliveries.",
    "retries": "Retried deliveries.",
    "run_id": "Dagster run that loaded the file.",
    "secret_id": "Which configured secret verified the delivery.",
    "sequence": "Delivery's sequence within its ingest instance.",
    "shipping_total_minor": "Shipping in minor units.",
    "sku_count": "Number of SKUs.",
    "sku_id": "SKU id.",
    "source_event_id": "X-Violet-Event-Id-Source: the original event id of a resend.",
    "status": "Status as sent by Violet (unknown values kept as they are).",
    "store_url": "Merchant store URL.",
    "sub_total_minor": "Sum of line prices in minor units.",
    "sync_type": "PRODUCT or COLLECTION.",
    "tax_total_minor": "Tax in minor units.",
    "topic": "X-Violet-Topic as sent.",
    "total_collections": "Collections in the sync, when sent.",
    "total_minor": "Total in minor units.",
    "total_products": "Products in the sync, when sent.",
    "transfer_method": "How the merchant share is transferred.",
    "transfer_status": "Transfer status reported on the payment transaction.",
    "type": "Collection type (CUSTOM, AUTOMATED).",
    "unique_events": "Logical events whose first delivery arrived that day.",
    "updated_at": "When the watermark moved.",
    "valid_from": "Start of the version's validity (its date_last_modified).",
    "valid_to": "End of validity: the next version's date_last_modified (NULL while current).",
    "visible": "Whether the offer is visible.",
    "webhook_id": "X-Violet-Webhook-Id: the subscription.",
}


TABLES.update(
    {
        "finance.order_payments": "Per order: order total, what was captured and refunded, and the difference.",
        "finance.bag_settlements": "Per bag: what the merchant is owed (sub_total + tax + shipping - discount - commission), what was transferred and reversed, and its settlement state.",
        "finance.merchant_balances": "Per merchant and currency: owed, transferred, reversed, outstanding; oldest unsettled bag; whether the payout account can receive money.",
        "finance.exceptions": "The open exceptions queue: what is wrong, the money at stake, since when. One row per problem; exception_id is stable across runs.",
        "finance.exception_log": "Every exception ever found, open or resolved (resolved_at), with when it was first and last seen.",
    }
)
COLUMNS.update(
    {
        "age_days": "Days from opened_at to as_of.",
        "as_of": "The instant finance looked at the data (setting; default: newest date_last_modified in core).",
        "bag_status": "The bag's status.",
        "bag_total_minor": "Sum of the order's bag totals in minor units.",
        "bags": "Number of bags.",
        "can_receive_payouts": "The merchant's payout account is active, has payouts enabled and nothing past due.",
        "capture_state": "CAPTURED, UNCAPTURED (authorized or waiting), FAILED, NO_PAYMENT or OTHER.",
        "captured_minor": "Sum of captured payment amounts (capture_status CAPTURED, PARTIALLY_REFUNDED or REFUNDED).",
        "commission_minor": "Channel commission: round(sub_total * commission_rate / 100), half up.",
        "currency_mixed": "A payment or bag of the order is in another currency than the order.",
        "detail": "What is wrong, in words, with the ids and amounts involved.",
        "difference_minor": "captured_minor - order_total_minor.",
        "due_minor": "What the merchant is owed now: expected_minor - reversal_due_minor if the bag is owed or was paid, else 0.",
        "exception_id": "Stable id: 'EX-' + 16 hex digits of sha256(kind | subject).",
        "expected_minor": "The merchant's share of the bag: sub_total + tax_total + shipping_total - discount_total - commission.",
        "first_seen_at": "as_of of the first run that found the exception (kept across runs).",
        "kind": "Exception kind (CAPTURE_MISSING, TRANSFER_FAILED, ...; see the README's For finance).",
        "last_seen_at": "as_of of the newest run that found the exception.",
        "oldest_unsettled_bag_id": "The unsettled bag whose payment is oldest.",
        "oldest_unsettled_since": "When the payment of the oldest unsettled bag was created.",
        "opened_at": "When the problem began (data time): payment, transfer, refund or error date.",
        "order_created_at": "When the order was created.",
        "order_status": "The order's status.",
        "order_total_minor": "The order's total in minor units.",
        "outstanding_minor": "Still to settle: due - (transferred - reversed). Positive: owed to the merchant; negative: to take back.",
        "owed": "Bag ACCEPTED, COMPLETED or PARTIALLY_REFUNDED and its order's payment captured.",
        "payment_count": "Number of payment transactions of the order.",
        "payment_created_at": "When the order's (first) payment transaction was created.",
        "payment_transaction_id": "The order's newest payment transaction.",
        "payout_account_active": "The merchant has an active payout account.",
        "pending_transfer_minor": "Money in transfers that are still PENDING.",
        "refund_id": "Refund id (bags[].refunds[].id).",
        "refund_state": "NONE, PARTIALLY_REFUNDED or REFUNDED (refunds vs captured).",
        "refunded_minor": "Money refunded to the shopper (sum of refunds[].amount).",
        "resolved_at": "as_of of the first run that no longer found the exception (NULL while open).",
        "reversal_due_minor": "Merchant money refunds take back (sum of refunds[].merchant_transfer_reversal_amount).",
        "reversed_minor": "Reversal money taken back from the merchant's transfers (reversals listed on the transfer).",
        "settlement_state": "SETTLED, PENDING, FAILED, MISMATCH, REVERSED or NOT_DUE (see the README).",
        "severity": "critical (failed money movement, blocked account), high (missing past grace), medium (mismatch, unknown reference).",
        "subject": "What the exception is about (order:<id>, bag:<id>, transfer:<id>[/refund:<id>]).",
        "transfer_count": "Number of transfers covering the bag (any status).",
        "transfer_due_at": "payment_created_at + the transfer grace period.",
        "transfer_id": "Transfer id.",
        "transfer_ids": "Transfers covering the bag (any status).",
        "transferred_minor": "Money moved to the merchant for the bag (transfers SENT, PARTIALLY_REVERSED, REVERSED, BYPASSED), allocated per bag.",
        "unallocated_transferred_minor": "Money moved by transfers none of whose bags is known.",
        "unsettled_bags": "Bags not SETTLED, REVERSED or NOT_DUE.",
    }
)
# Where a column means something else in one table: "schema.table.column" -> description.
COLUMN_OVERRIDES: dict[str, str] = {
    "finance.merchant_balances.expected_minor": "What the merchant is owed: sum of bag_settlements.due_minor.",
    "finance.merchant_balances.outstanding_minor": "expected - (transferred - reversed). Positive: owed to the merchant; negative: to take back.",
    "finance.exceptions.amount_minor": "Money at stake, in minor units of `currency` (rule per kind in the README).",
    "finance.exception_log.amount_minor": "Money at stake, in minor units of `currency` (rule per kind in the README).",
}


def describe(schema: str, table: str, column: str) -> str | None:
    return COLUMN_OVERRIDES.get(f"{schema}.{table}.{column}") or COLUMNS.get(column)


def table_spec(key: dg.AssetKey, deps: Iterable[dg.AssetKey] = ()) -> dg.AssetSpec:
    """The asset of one warehouse table: its description, its schema as group, kind duckdb."""
    return dg.AssetSpec(
        key,
        description=TABLES[".".join(key.path)],
        group_name=key.path[0],
        kinds={"duckdb"},
        deps=list(deps),
    )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def missing(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Tables and columns of the warehouse that have no description here."""
    out = []
    for schema, table, column in con.execute(
        "select schema_name, table_name, column_name from duckdb_columns() "
        "where schema_name in ('staging', 'core', 'finance', 'ops') and not internal"
    ).fetchall():
        if f"{schema}.{table}" not in TABLES:
            out.append(f"{schema}.{table}")
        if describe(schema, table, column) is None:
            out.append(f"{schema}.{table}.{column}")
    return sorted(set(out))


def apply(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> None:
    """COMMENT every table and column of `schemas` that has a description (only those whose
    comment differs: a COMMENT is a catalog write, and most runs change none)."""
    rows = con.execute(
        "select c.schema_name, c.table_name, c.column_name, c.comment, t.comment "
        "from duckdb_columns() as c join duckdb_tables() as t using (database_oid, table_oid) "
        "where c.database_name = current_database() and c.schema_name in (select unnest(?)) "
        "and not c.internal",
        [list(schemas)],
    ).fetchall()
    statements = []
    tables = {(schema, table): table_comment for schema, table, _, _, table_comment in rows}
    for (schema, table), current in sorted(tables.items()):
        text = TABLES.get(f"{schema}.{table}")
        if text is not None and text != current:
            statements.append(f"comment on table {schema}.{table} is {_quote(text)}")
    for schema, table, column, current, _ in rows:
        text = describe(schema, table, column)
        if text is not None and text != current:
            statements.append(f'comment on column {schema}.{table}."{column}" is {_quote(text)}')
    if statements:
        con.execute(";\n".join(statements))
