-- grain: one row per version of a payment transaction (id, date_last_modified). Sources: the
-- PAYMENT_TRANSACTION_* topics and payment_transactions[] embedded in orders; either way the
-- newest date_last_modified wins.
with
sources as (
    select e.payload as pt, e.received_at, e.event_key, null::bigint as order_id_from_order,
    from {events} as e
    where e.entity = 'payment_transaction'
    union all
    select p.pt, e.received_at, e.event_key, e.entity_id,
    from {events} as e,
        unnest(cast(e.payload -> '$.payment_transactions' as json[])) as p (pt)
    where e.entity = 'order'
)

select
    violet_int(pt, '$.id') as id,
    violet_ts(pt ->> '$.date_last_modified') as date_last_modified,
    received_at,
    event_key,
    coalesce(violet_int(pt, '$.order_id'), order_id_from_order) as order_id,
    cast(pt -> '$.related_bags' as varchar[]) as related_bags,
    pt ->> '$.payment_provider' as payment_provider,
    pt ->> '$.payment_provider_transaction_id' as payment_provider_transaction_id,
    violet_money(pt, '$.amount') as amount_minor,
    pt ->> '$.currency' as currency,
    pt ->> '$.capture_status' as capture_status,
    pt ->> '$.capture_method' as capture_method,
    pt ->> '$.transfer_status' as transfer_status,
    pt ->> '$.transfer_method' as transfer_method,
    pt -> '$.errors' as errors,
    violet_ts(pt ->> '$.date_created') as date_created,
    pt as payload,
from sources
