-- grain: one row per version of a bag line (sku line id, the bag's date_last_modified).
-- Source: bags[].skus[] of every order version, parsed once per order event.
with
bags as (
    select
        e.event_key,
        e.received_at,
        e.entity_id as event_order_id,
        unnest(json_transform(e.payload, '{"bags": [{
            "id": "VARCHAR", "order_id": "VARCHAR", "merchant_id": "VARCHAR",
            "currency": "VARCHAR", "date_last_modified": "VARCHAR",
            "skus": [{
                "id": "VARCHAR", "sku_id": "VARCHAR", "offer_id": "VARCHAR", "name": "VARCHAR",
                "quantity": "VARCHAR", "price": "VARCHAR", "line_price": "VARCHAR"
            }]
        }]}').bags) as b,
    from {events} as e
    where e.entity = 'order'
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
    to_json(s) as payload,
from lines
