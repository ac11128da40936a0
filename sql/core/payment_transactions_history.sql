-- grain: one row per version of a payment transaction (id, date_last_modified). Sources: the
-- PAYMENT_TRANSACTION_* topics (placeholder events) and payment_transactions[] embedded in
-- orders (placeholder orders: rows of order_docs); either way the newest date_last_modified
-- wins. Each JSON document is parsed once. related_refunds: the ids of the refunds against this
-- payment (Violet keeps amount = the captured amount after a refund; the refunded amount is not
-- in the body).
with
own as (
    select
        e.received_at,
        e.event_key,
        null::bigint as order_id_from_order,
        json_transform(e.payload, payment_transaction_shape()) as p,
    from {events} as e
    where e.entity = 'payment_transaction'
),

embedded as (
    select d.received_at, d.event_key, d.entity_id as order_id_from_order,
        unnest(d.o.payment_transactions) as p,
    from {orders} as d
),

sources as (
    select * from own
    union all
    select * from embedded
)

select
    violet_minor(p.id) as id,
    violet_ts(p.date_last_modified) as date_last_modified,
    received_at,
    event_key,
    coalesce(violet_minor(p.order_id), order_id_from_order) as order_id,
    p.related_bags,
    p.related_refunds,
    p.payment_provider,
    p.payment_provider_transaction_id,
    violet_minor(p.amount) as amount_minor,
    p.currency,
    p.capture_status,
    p.capture_method,
    p.transfer_status,
    p.transfer_method,
    p.errors,
    violet_ts(p.date_created) as date_created,
from sources
