-- grain: one row per version of an order (id, date_last_modified). Source: order topics,
-- parsed once per run into temp table order_docs (placeholder orders: the order_docs rows to
-- read). The loader keeps history and current state (newest date_last_modified wins; ties:
-- latest received, then event key). Money is read as text and must be an integer.
select
    d.entity_id as id,
    d.date_last_modified,
    d.received_at,
    d.event_key,
    d.topic as last_topic,
    d.o.app_order_id,
    d.o.app_customer_id,
    d.o.status,
    d.o.channel,
    d.o.currency,
    violet_minor(d.o.sub_total) as sub_total_minor,
    violet_minor(d.o.shipping_total) as shipping_total_minor,
    violet_minor(d.o.tax_total) as tax_total_minor,
    violet_minor(d.o.discount_total) as discount_total_minor,
    violet_minor(d.o.total) as total_minor,
    coalesce(len(d.o.bags), 0) as bag_count,
    violet_ts(d.o.date_created) as date_created,
from {orders} as d
