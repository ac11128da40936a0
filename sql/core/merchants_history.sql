-- grain: one row per version of a merchant (id, date_last_modified). Source: MERCHANT_* topics
-- (not payout-account ones). merchant_name is also spelled name in older payloads.
select
    e.entity_id as id,
    e.date_last_modified,
    e.received_at,
    e.event_key,
    e.topic as last_topic,
    coalesce(e.payload ->> '$.merchant_name', e.payload ->> '$.name') as merchant_name,
    e.payload ->> '$.platform' as platform,
    e.payload ->> '$.store_url' as store_url,
    e.payload ->> '$.status' as status,
    e.payload ->> '$.connection_status' as connection_status,
    e.payload ->> '$.default_currency' as default_currency,
    try_cast(e.payload ->> '$.commission_rate' as decimal(9, 4)) as commission_rate,
    violet_ts(e.payload ->> '$.date_created') as date_created,
from {events} as e
where e.entity = 'merchant'
