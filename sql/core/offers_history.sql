-- grain: one row per version of an offer (id, date_last_modified). Source: OFFER_* topics.
select
    e.entity_id as id,
    e.date_last_modified,
    e.received_at,
    e.event_key,
    e.topic as last_topic,
    e.payload ->> '$.name' as name,
    violet_int(e.payload, '$.merchant_id') as merchant_id,
    try_cast(e.payload ->> '$.available' as boolean) as available,
    try_cast(e.payload ->> '$.visible' as boolean) as visible,
    e.payload ->> '$.status' as status,
    violet_money(e.payload, '$.min_price') as min_price_minor,
    violet_money(e.payload, '$.max_price') as max_price_minor,
    e.payload ->> '$.currency' as currency,
    coalesce(json_array_length(e.payload, '$.skus'), 0) as sku_count,
    violet_ts(e.payload ->> '$.date_created') as date_created,
from {events} as e
where e.entity = 'offer'
