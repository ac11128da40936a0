-- grain: one row per version of an order (id, date_last_modified). Source: order topics.
-- This file selects the versions found in the events it is given; the loader keeps history and
-- current state (newest date_last_modified wins; ties: latest received, then event key).
-- The payload is parsed once (json_transform); money is read as text and must be an integer.
with
parsed as (
    select
        e.*,
        json_transform(e.payload, '{
            "app_order_id": "VARCHAR", "app_customer_id": "VARCHAR", "status": "VARCHAR",
            "channel": "VARCHAR", "currency": "VARCHAR", "sub_total": "VARCHAR",
            "shipping_total": "VARCHAR", "tax_total": "VARCHAR", "discount_total": "VARCHAR",
            "total": "VARCHAR", "date_created": "VARCHAR", "bags": ["JSON"]
        }') as o,
    from {events} as e
    where e.entity = 'order'
)

select
    entity_id as id,
    date_last_modified,
    received_at,
    event_key,
    topic as last_topic,
    o.app_order_id,
    o.app_customer_id,
    o.status,
    o.channel,
    o.currency,
    violet_minor(o.sub_total) as sub_total_minor,
    violet_minor(o.shipping_total) as shipping_total_minor,
    violet_minor(o.tax_total) as tax_total_minor,
    violet_minor(o.discount_total) as discount_total_minor,
    violet_minor(o.total) as total_minor,
    coalesce(len(o.bags), 0) as bag_count,
    violet_ts(o.date_created) as date_created,
    payload,
from parsed
