-- grain: one row per version of a bag (id, date_last_modified). Source: the bags[] of every
-- order version; a bag's version is its own date_last_modified.
select
    violet_int(b.bag, '$.id') as id,
    violet_ts(b.bag ->> '$.date_last_modified') as date_last_modified,
    e.received_at,
    e.event_key,
    coalesce(violet_int(b.bag, '$.order_id'), e.entity_id) as order_id,
    violet_int(b.bag, '$.merchant_id') as merchant_id,
    b.bag ->> '$.merchant_name' as merchant_name,
    b.bag ->> '$.external_id' as external_id,
    b.bag ->> '$.status' as status,
    b.bag ->> '$.fulfillment_status' as fulfillment_status,
    b.bag ->> '$.financial_status' as financial_status,
    b.bag ->> '$.dispute_status' as dispute_status,
    b.bag ->> '$.currency' as currency,
    violet_money(b.bag, '$.sub_total') as sub_total_minor,
    violet_money(b.bag, '$.shipping_total') as shipping_total_minor,
    violet_money(b.bag, '$.tax_total') as tax_total_minor,
    violet_money(b.bag, '$.discount_total') as discount_total_minor,
    violet_money(b.bag, '$.total') as total_minor,
    try_cast(b.bag ->> '$.commission_rate' as decimal(9, 4)) as commission_rate,
    coalesce(json_array_length(b.bag, '$.skus'), 0) as sku_count,
    violet_ts(b.bag ->> '$.date_created') as date_created,
    b.bag as payload,
from {events} as e,
    unnest(cast(e.payload -> '$.bags' as json[])) as b (bag)
where e.entity = 'order'
