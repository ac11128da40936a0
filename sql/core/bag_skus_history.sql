-- grain: one row per version of a bag line (sku line id, the bag's date_last_modified).
-- Source: bags[].skus[] of every order version (placeholder orders: rows of order_docs).
with
bags as (
    select d.event_key, d.received_at, d.entity_id as event_order_id, unnest(d.o.bags) as b,
    from {orders} as d
),

lines as (
    select bags.*, unnest(b.skus) as s,
    from bags
)

select
    violet_minor(s.id) as id,
    violet_ts(b.date_last_modified) as date_last_modified,
    received_at,
    event_key,
    violet_minor(b.id) as bag_id,
    coalesce(violet_minor(b.order_id), event_order_id) as order_id,
    violet_minor(b.merchant_id) as merchant_id,
    violet_minor(s.sku_id) as sku_id,
    violet_minor(s.offer_id) as offer_id,
    s.name,
    violet_minor(s.quantity) as quantity,
    violet_minor(s.price) as price_minor,
    violet_minor(s.line_price) as line_price_minor,
    b.currency,
from lines
