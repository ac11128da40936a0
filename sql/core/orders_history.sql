-- grain: one row per version of an order (id, date_last_modified). Source: order topics.
-- This file selects the versions found in `changed_events`; the loader keeps history and current
-- state (newest date_last_modified wins; ties: latest received, then event key).
select
    e.entity_id as id,
    e.date_last_modified,
    e.received_at,
    e.event_key,
    e.topic as last_topic,
    e.payload ->> '$.app_order_id' as app_order_id,
    e.payload ->> '$.app_customer_id' as app_customer_id,
    e.payload ->> '$.status' as status,
    e.payload ->> '$.channel' as channel,
    e.payload ->> '$.currency' as currency,
    violet_money(e.payload, '$.sub_total') as sub_total_minor,
    violet_money(e.payload, '$.shipping_total') as shipping_total_minor,
    violet_money(e.payload, '$.tax_total') as tax_total_minor,
    violet_money(e.payload, '$.discount_total') as discount_total_minor,
    violet_money(e.payload, '$.total') as total_minor,
    coalesce(json_array_length(e.payload, '$.bags'), 0) as bag_count,
    violet_ts(e.payload ->> '$.date_created') as date_created,
    e.payload,
from {events} as e
where e.entity = 'order'
