-- grain: one row per version of a bag line (sku line id, the bag's date_last_modified).
-- Source: bags[].skus[] of every order version.
select
    violet_int(s.sku, '$.id') as id,
    violet_ts(b.bag ->> '$.date_last_modified') as date_last_modified,
    e.received_at,
    e.event_key,
    violet_int(b.bag, '$.id') as bag_id,
    coalesce(violet_int(b.bag, '$.order_id'), e.entity_id) as order_id,
    violet_int(b.bag, '$.merchant_id') as merchant_id,
    violet_int(s.sku, '$.sku_id') as sku_id,
    violet_int(s.sku, '$.offer_id') as offer_id,
    s.sku ->> '$.name' as name,
    violet_int(s.sku, '$.quantity') as quantity,
    violet_money(s.sku, '$.price') as price_minor,
    violet_money(s.sku, '$.line_price') as line_price_minor,
    b.bag ->> '$.currency' as currency,
    s.sku as payload,
from {events} as e,
    unnest(cast(e.payload -> '$.bags' as json[])) as b (bag),
    unnest(cast(b.bag -> '$.skus' as json[])) as s (sku)
where e.entity = 'order'
