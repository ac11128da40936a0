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

from pipelines.core.entities import CORE_ENTITIES

TABLES: dict[str, str] = {
    "staging.topics": "Every topic name violet-webhooks.md lists: the entity its body describes, its canonical spelling, whether Violet's docs confirm it.",
    "staging.topic_families": "Topic families (name patterns, tried in priority order): a name not in staging.topics that matches one is modeled as its entity if the body has that entity's shape (else quarantined as wrong_shape).",
    "staging.deliveries": "One row per stored webhook delivery (raw Parquet row), typed and classified.",
    "staging.events": "One row per logical event (coalesce(X-Violet-Event-Id-Source, X-Violet-Event-Id, body hash)).",
    "staging.quarantine": "Stored deliveries that cannot be modeled, with the reason, where in the body (detail), body and headers.",
    "ops.loaded_files": "Ledger of raw Parquet files loaded into staging: a file is loaded once.",
    "ops.model_state": "Watermarks: the last staging batch each incremental step has processed.",
    "ops.event_counts": "Per topic and day received: deliveries, unique events, retries, resends, quarantined.",
    "ops.delivery_lag": "Per topic and day received: received_at - date_last_modified, p50/p95/max.",
    "ops.topics": "One row per topic name ever received (as sent; '(none)' without a topic header): what it is, documented or not, first/last received, deliveries, events, quarantined and why.",
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
    "capture_method": "How the payment is captured: AUTOMATIC, CUSTOM (the channel captures later, e.g. at fulfilment) or DISABLED (outside Violet); absent means AUTOMATIC.",
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
    "merchant_name": "Merchant name (older payloads: name; on bags and balances: from core.merchants).",
    "merchant_id_source": "Where merchant_id comes from: body (the transfer's optional merchant_id), payout_account (its payout account's merchant) or bags (the merchant of the bags it covers).",
    "partially_sent": "The current version was announced by TRANSFER_PARTIALLY_SENT: only part of the money reached the merchant.",
    "reversal_failed_at": "Newest version announced by TRANSFER_REVERSAL_FAILED (NULL if none).",
    "related_refunds": "Ids of the refunds against the payment (strings; the refunded amount is not in the body).",
    "transfer_reversals": "Reversal ids listed on the transfer (optional API field; not in webhook samples).",
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
    "quarantine_detail": "Where in the body quarantine_reason applies: a path such as total, bags[1].id or bags[0].skus[2].price ('..key' for a duplicate key deeper down); NULL for invalid_json, missing_topic, unknown_topic and wrong_shape.",
    "quarantined": "Quarantined deliveries.",
    "raw_file": "Raw file (under raw/violet) the delivery was loaded from.",
    "reason": "Quarantine reason: invalid_json, missing_topic, unknown_topic, duplicate_key (a key twice in one object: the top level, an order's bags[], payment_transactions[] and bags[].skus[]), wrong_shape, tried in this order; else the first problem of the body (its id, its entity's fields, its timestamps, then its bags in order with their lines, then its payment transactions): missing_id, missing_field (a transfer without amount or currency), wrong_type, id_out_of_range (<= 0 or past 2^63 - 1), money_out_of_range (below 0 or past 10^15 minor units), number_out_of_range (a quantity, count or commission rate), duplicate_child_id (the same bag, bag line or payment transaction twice in one order), missing_timestamp, bad_timestamp (not a Violet timestamp, a day that does not exist, before 2000), future_timestamp (later than the receipt plus the tolerance, 1 day by default). A bag, line or embedded payment transaction that cannot be modeled quarantines its order delivery; detail says where.",
    "received_at": "When the delivery (for events and versions: the first one) reached the ingest service (UTC).",
    "related_bags": "Bag ids the entity covers, as text (from related_bags or the newer related_bag_ids; strings or integers in the body).",
    "related_distributions": "Distribution ids the transfer covers (related_distributions or related_distribution_ids; optional).",
    "related_orders": "Order ids the transfer covers, as text (from related_orders or the newer related_order_ids).",
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
    "sync_type": "PRODUCT or COLLECTION (from the topic: <X>_SYNC_*).",
    "tax_total_minor": "Tax in minor units.",
    "topic": "X-Violet-Topic as sent.",
    "total_collections": "Collections in the sync, when sent.",
    "total_minor": "Total in minor units.",
    "total_products": "Products in the sync, when sent.",
    "transfer_method": "How the merchant share is transferred: AUTOMATIC (Violet), CUSTOM (the channel triggers it), EXTERNAL (the channel pays the merchant itself) or DISABLED (no transfer through Violet); absent means AUTOMATIC.",
    "transfer_status": "Transfer status reported on the payment transaction.",
    "type": "Collection type (CUSTOM, AUTOMATED).",
    "unique_events": "Logical events whose first delivery arrived that day.",
    "updated_at": "When the watermark moved.",
    "valid_from": "Start of the version's validity (its date_last_modified).",
    "valid_to": "End of validity: the next version's date_last_modified (NULL while current).",
    "visible": "Whether the offer is visible.",
    "webhook_id": "X-Violet-Webhook-Id: the subscription.",
}


# Topics (staging.topics, staging.topic_families, staging.deliveries.topic_documented, ops.topics).
COLUMNS.update(
    {
        "documented": "Violet's documentation (a docs page or sample) lists this topic name; false for names only seen in Violet's code, new names of a known family and unknown names.",
        "topic_documented": "The delivery's topic is a documented Violet topic (staging.topics.documented); false for a new name of a known family, an unknown name or no topic.",
        "family": "The family as written in the docs: a name prefix (ORDER_*), or *_SYNC_* for any sync.",
        "pattern": "Regular expression a topic name must fully match to belong to the family.",
        "priority": "Order in which families are tried (1 first: the longest prefix wins).",
        "shape": "Fields of which a family-matched body must have at least one, not null (a name ending in [] must be a JSON list); else the delivery is quarantined as wrong_shape.",
        "quarantine_reasons": "Quarantined deliveries of the topic per reason (map reason -> deliveries; empty when none).",
    }
)


TABLES.update(
    {
        "finance.order_payments": "Per order: order total, what was captured and refunded, and the difference.",
        "finance.bag_settlements": "Per bag: what the merchant is owed (sub_total + tax + shipping - discount - commission), what was transferred and reversed, and its settlement state.",
        "finance.merchant_balances": "Per merchant and currency: owed, transferred, reversed, outstanding; oldest unsettled bag; whether the payout account can receive money.",
        "finance.exceptions": "The open exceptions queue: what is wrong, the money at stake, since when. One row per problem; exception_id is stable across runs.",
        "finance.exception_log": "Every exception ever found, open or resolved (resolved_at), with when it was first and last seen.",
        "finance.exception_actions": "The finance desk's audit trail: every ack, assign, comment, snooze, resolve and reopen, who and when (python -m pipelines finance ...).",
    }
)
COLUMNS.update(
    {
        "age_days": "Days from opened_at to as_of.",
        "action_id": "Order in which the desk recorded the action.",
        "action": "ack, assign, comment, snooze, resolve (by hand, with a reason) or reopen.",
        "actor": "Who acted (VIOLET_DESK_USER, else the login name).",
        "acted_at": "When the action was recorded (UTC).",
        "owner": "Who works the exception (the newest assign).",
        "note": "The newest comment, or the reason it was resolved by hand.",
        "until": "A snooze's end.",
        "snoozed_until": "Hidden from the working queue until then (status snoozed).",
        "acknowledged_at": "When it was acknowledged as it is (NULL once its kind or amount changed).",
        "seen_kind": "The exception's kind when the person acted.",
        "seen_amount_minor": "The exception's amount_minor when the person acted: a change reopens it.",
        "as_of": "The instant finance looked at the data (setting; default: newest date_last_modified in core).",
        "bag_status": "The bag's status.",
        "bag_total_minor": "Sum of the order's bag totals in minor units.",
        "bags": "Number of bags.",
        "can_receive_payouts": "The merchant's payout account is active, has payouts enabled and nothing past due.",
        "capture_state": "CAPTURED, UNCAPTURED (authorized or waiting), FAILED, BYPASSED (captured outside Violet), NO_PAYMENT or OTHER.",
        "captured_at": "When the payment first showed a captured status (its history): the transfer grace runs from here.",
        "amount_exact": "False when amount_minor is an upper bound because no webhook carries the amount (a partial refund, a partly sent transfer).",
        "amounts_exact": "False when a refund's or reversal's amount is not known by webhook (a partial refund without Refund data): due and reversed then count it as 0.",
        "refunded_exact": "False when a refund of the order has no known amount (a partial refund without Refund data).",
        "bags_with_unknown_amounts": "Bags whose refund or reversal amount is not known by webhook.",
        "paid_in_batches": "The merchant is paid by scheduled, netted transfers: some transfer covered two or more of its bags.",
        "fulfilled_at": "When the bag was first fulfilled (fulfillment_status past PROCESSING).",
        "refund_kind": "FULL or PARTIAL: from the bag's status/financial_status (REFUNDED, PARTIALLY_REFUNDED, or CANCELED after capture).",
        "refunded_at": "The bag version that first showed the refund.",
        "reversal_state": "For a refunded bag a transfer had paid: REVERSED, FAILED, NETTED / NETTING (no reversal expected: batched, CUSTOM/EXTERNAL or multi-bag transfer; netted once a later transfer lists the bag), MISSING or DUE.",
        "captured_minor": "Sum of captured payment amounts (capture_status CAPTURED, PARTIALLY_REFUNDED or REFUNDED).",
        "commission_minor": "Channel commission: round(sub_total * commission_rate / 100), half up.",
        "currency_mixed": "A payment or bag of the order is in another currency than the order.",
        "detail": "What is wrong, in words, with the ids and amounts involved.",
        "difference_minor": "captured_minor - order_total_minor.",
        "due_minor": "What the merchant is owed now: expected_minor - reversal_due_minor if the bag is owed or was paid, else 0.",
        "exception_id": "Stable id: 'EX-' + 16 hex digits of sha256(kind | subject).",
        "expected_minor": "The merchant's share of the bag: sub_total + tax_total + shipping_total - discount_total - commission.",
        "first_seen_at": "as_of of the first run that found the exception (kept across runs).",
        "kind": "Exception kind (CAPTURE_MISSING, TRANSFER_FAILED, ...; see docs/finance.md).",
        "last_seen_at": "as_of of the newest run that found the exception.",
        "oldest_unsettled_bag_id": "The unsettled bag whose payment is oldest.",
        "oldest_unsettled_since": "When the payment of the oldest unsettled bag was created.",
        "opened_at": "When the problem began (data time): payment, transfer, refund or error date.",
        "order_created_at": "When the order was created.",
        "order_status": "The order's status.",
        "order_total_minor": "The order's total in minor units.",
        "outstanding_minor": "Still to settle: due - (transferred - reversed). Positive: owed to the merchant; negative: to take back.",
        "owed": "Violet owes the merchant for the bag: ACCEPTED, COMPLETED or PARTIALLY_REFUNDED, its order's payment captured, transfer_method AUTOMATIC or CUSTOM.",
        "payment_count": "Number of payment transactions of the order.",
        "payment_created_at": "When the order's (first) payment transaction was created.",
        "payment_transaction_id": "The order's newest payment transaction.",
        "payout_account_active": "The merchant has an active payout account.",
        "pending_transfer_minor": "Money in transfers that are still PENDING.",
        "refund_id": "Refund id, when Refund data (bags[].refunds[], not sent by webhook) gives one.",
        "refund_state": "NONE, PARTIALLY_REFUNDED or REFUNDED: from the bags' refunds, else the payment's capture_status.",
        "refunded_minor": "Money refunded to the shopper, where known: a full refund's bag total, or Refund data.",
        "resolved_at": "as_of of the first run that no longer found the exception (NULL while open).",
        "reversal_due_minor": "Merchant money the bag's refund takes back: a full refund, the whole expected amount; a partial one, Refund data's merchant_transfer_reversal_amount, else NULL (unknown).",
        "reversed_minor": "Money taken back by the reversal (REVERSED / PARTIALLY_REVERSED) of the transfer that paid the bag alone, where its amount is known.",
        "settlement_state": "SETTLED, PENDING, FAILED, MISMATCH, REVERSED or NOT_DUE (see docs/finance.md).",
        "severity": "critical (failed money movement, blocked account), high (missing past grace), medium (mismatch, unknown reference).",
        "subject": "What the exception is about (order:<id>, bag:<id>, transfer:<id>[/bag:<id>]).",
        "transfer_count": "Number of transfers covering the bag (any status).",
        "transfer_due_at": "When a transfer is due: captured_at + the transfer grace, or for a merchant paid in batches fulfilled_at + the scheduled transfer grace.",
        "transfer_id": "Transfer id.",
        "transfer_ids": "Transfers covering the bag (any status).",
        "transferred_minor": "Money moved to the merchant for the bag (transfers SENT, PARTIALLY_REVERSED, REVERSED, BYPASSED or SUCCESS, not partly sent), allocated per bag; a netting line of a later transfer counts negative.",
        "unallocated_transferred_minor": "Money moved by transfers none of whose bags is known.",
        "unsettled_bags": "Bags not SETTLED, REVERSED or NOT_DUE.",
    }
)
# Where a column means something else in one table: "schema.table.column" -> description.
COLUMN_OVERRIDES: dict[str, str] = {
    "staging.quarantine.detail": "Where in the body the reason applies: a path such as total, bags[1].id or bags[0].skus[2].price ('..key' for a duplicate key deeper down); NULL for invalid_json, missing_topic, unknown_topic and wrong_shape.",
    "finance.exceptions.status": "The finance desk's state: open, acknowledged, snoozed or resolved_by_hand (python -m pipelines finance ...).",
    "finance.exception_log.status": "open, acknowledged, snoozed, resolved_by_hand (the finance desk), or resolved (no run finds it any more).",
    "ops.topics.topic": "X-Violet-Topic as sent; '(none)' for deliveries without one.",
    "ops.topics.first_seen_at": "When the first delivery of the topic was received (received_at, UTC).",
    "ops.topics.last_seen_at": "When the newest delivery of the topic was received (received_at, UTC).",
    "ops.topics.unique_events": "Logical events (event_key) delivered under this topic, quarantined or not.",
    "finance.merchant_balances.expected_minor": "What the merchant is owed: sum of bag_settlements.due_minor.",
    "finance.merchant_balances.outstanding_minor": "expected - (transferred - reversed). Positive: owed to the merchant; negative: to take back.",
    "finance.exceptions.amount_minor": "Money at stake, in minor units of `currency` (rule per kind in docs/finance.md).",
    "finance.exception_log.amount_minor": "Money at stake, in minor units of `currency` (rule per kind in docs/finance.md).",
    "finance.exceptions.difference_minor": "Signed actual - expected in minor units, where both are known (e.g. transferred - owed); NULL for failures.",
    "finance.exception_log.difference_minor": "Signed actual - expected in minor units, where both are known (e.g. transferred - owed); NULL for failures.",
    "core.transfers.merchant_id": "Merchant paid: the body's merchant_id (optional), else the payout account's merchant, else its bags' (merchant_id_source).",
    "core.transfers_history.merchant_id": "merchant_id as the body sent it (optional; Violet's webhook samples have none: see core.transfers).",
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
