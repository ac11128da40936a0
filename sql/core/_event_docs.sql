-- grain: one row per event this core run reads; key: event_key.
-- inputs: variable core_docs_source (the events to read: changed_events, or temp table
--   source_events from _sources.sql); view/table changed_events; macro payment_transaction_shape
--   (sql/macros.sql).
-- outputs: temp table event_docs; temp views order_docs, entity_events, changed_docs and
--   changed_entity_events.
-- Every event this core run reads, in one pass over them (variable core_docs_source names the
-- events to read: view/table changed_events, or temp table source_events), as temp table
-- event_docs: an order event's JSON parsed once into typed fields (o), any
-- other event's payload as it is (a fifth of the bytes). Views order_docs and entity_events
-- split it: orders, bags, bag lines and embedded payment transactions all read order_docs, so no
-- order JSON is parsed twice and no order payload is copied (current state takes each current
-- version's payload from its event afterwards, see sql/core/<entity>.sql); the other entities read
-- entity_events instead of scanning every payload in staging.events again.
-- Money and ids are read as text: violet_minor accepts integers only.
create or replace temp table event_docs as
select
    e.* exclude (payload),
    case when e.entity <> 'order' then e.payload end as payload,
    case when e.entity = 'order' then json_transform(e.payload, '{
        "app_order_id": "VARCHAR", "app_customer_id": "VARCHAR", "status": "VARCHAR",
        "channel": "VARCHAR", "currency": "VARCHAR", "sub_total": "VARCHAR",
        "shipping_total": "VARCHAR", "tax_total": "VARCHAR", "discount_total": "VARCHAR",
        "total": "VARCHAR", "date_created": "VARCHAR",
        "bags": [{
            "id": "VARCHAR", "order_id": "VARCHAR", "merchant_id": "VARCHAR",
            "external_id": "VARCHAR", "status": "VARCHAR",
            "fulfillment_status": "VARCHAR", "financial_status": "VARCHAR",
            "dispute_status": "VARCHAR", "currency": "VARCHAR", "sub_total": "VARCHAR",
            "shipping_total": "VARCHAR", "tax_total": "VARCHAR", "discount_total": "VARCHAR",
            "total": "VARCHAR", "commission_rate": "VARCHAR", "date_created": "VARCHAR",
            "date_last_modified": "VARCHAR",
            "skus": [{
                "id": "VARCHAR", "sku_id": "VARCHAR", "offer_id": "VARCHAR", "name": "VARCHAR",
                "quantity": "VARCHAR", "price": "VARCHAR", "line_price": "VARCHAR"
            }]
        }],
        "payment_transactions": [' || payment_transaction_shape() || ']
    }') end as o,
from query_table(getvariable('core_docs_source')) as e;

create or replace temp view order_docs as
select event_key, received_at, entity_id, date_last_modified, topic, o,
from event_docs
where entity = 'order';

create or replace temp view entity_events as
select * exclude (o) from event_docs where entity <> 'order';

-- The changed events among them (all of them unless core_docs_source is source_events): what
-- every entity's new versions are derived from.
create or replace temp view changed_docs as
select * from order_docs
where getvariable('core_docs_source') = 'changed_events'
union all
select * from order_docs
semi join changed_events using (event_key)
where getvariable('core_docs_source') <> 'changed_events';

create or replace temp view changed_entity_events as
select * from entity_events
where getvariable('core_docs_source') = 'changed_events'
union all
select * from entity_events
semi join changed_events using (event_key)
where getvariable('core_docs_source') <> 'changed_events';
