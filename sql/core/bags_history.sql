-- grain: one row per version of a bag (id, date_last_modified). Source: the bags[] of every
-- order version; a bag's version is its own date_last_modified. Each order event's JSON is
-- parsed once into its bags' JSON, and each bag's JSON once into typed fields.
with
raw_bags as (
    select
        e.event_key,
        e.received_at,
        e.entity_id as event_order_id,
        unnest(json_transform(e.payload, '{"bags": ["JSON"]}').bags) as raw_bag,
    from {events} as e
    where e.entity = 'order'
),

parsed as (
    select
        r.*,
        json_transform(r.raw_bag, '{
            "id": "VARCHAR", "order_id": "VARCHAR", "merchant_id": "VARCHAR",
            "merchant_name": "VARCHAR", "external_id": "VARCHAR", "status": "VARCHAR",
            "fulfillment_status": "VARCHAR", "financial_status": "VARCHAR",
            "dispute_status": "VARCHAR", "currency": "VARCHAR", "sub_total": "VARCHAR",
            "shipping_total": "VARCHAR", "tax_total": "VARCHAR", "discount_total": "VARCHAR",
            "total": "VARCHAR", "commission_rate": "VARCHAR", "date_created": "VARCHAR",
            "date_last_modified": "VARCHAR", "skus": ["JSON"]
        }') as b,
    from raw_bags as r
)

select
    violet_minor(b.id) as id,
    violet_ts(b.date_last_modified) as date_last_modified,
    received_at,
    event_key,
    coalesce(violet_minor(b.order_id), event_order_id) as order_id,
    violet_minor(b.merchant_id) as merchant_id,
    b.merchant_name,
    b.external_id,
    b.status,
    b.fulfillment_status,
    b.financial_status,
    b.dispute_status,
    b.currency,
    violet_minor(b.sub_total) as sub_total_minor,
    violet_minor(b.shipping_total) as shipping_total_minor,
    violet_minor(b.tax_total) as tax_total_minor,
    violet_minor(b.discount_total) as discount_total_minor,
    violet_minor(b.total) as total_minor,
    try_cast(b.commission_rate as decimal(9, 4)) as commission_rate,
    coalesce(len(b.skus), 0) as sku_count,
    violet_ts(b.date_created) as date_created,
    raw_bag as payload,
from parsed
