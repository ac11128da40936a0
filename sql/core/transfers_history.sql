-- grain: one row per version of a transfer (id, date_last_modified). Source: TRANSFER_* topics.
-- payment_provider_id is also spelled payment_provider_transfer_id: both are read.
select
    e.entity_id as id,
    e.date_last_modified,
    e.received_at,
    e.event_key,
    e.topic as last_topic,
    coalesce(
        e.payload ->> '$.payment_provider_id', e.payload ->> '$.payment_provider_transfer_id'
    ) as payment_provider_id,
    violet_int(e.payload, '$.payout_account_id') as payout_account_id,
    violet_int(e.payload, '$.merchant_id') as merchant_id,
    violet_money(e.payload, '$.amount') as amount_minor,
    e.payload ->> '$.currency' as currency,
    e.payload ->> '$.status' as status,
    e.payload ->> '$.payment_provider' as payment_provider,
    cast(e.payload -> '$.related_orders' as varchar[]) as related_orders,
    cast(e.payload -> '$.related_bags' as varchar[]) as related_bags,
    cast(e.payload -> '$.related_distributions' as varchar[]) as related_distributions,
    e.payload -> '$.errors' as errors,
    violet_ts(e.payload ->> '$.date_created') as date_created,
from {events} as e
where e.entity = 'transfer'
