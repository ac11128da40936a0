-- Every order event this core run reads, its JSON parsed once into typed fields (placeholder
-- events: the events to read). Orders, bags, bag lines and embedded payment transactions are all
-- derived from this temp table, so no order JSON is parsed twice; no payload is copied (current
-- state takes each current version's payload from its event afterwards, see _current.sql).
-- Money and ids are read as text: violet_minor accepts integers only.
create or replace temp table order_docs as
select
    e.event_key,
    e.received_at,
    e.entity_id,
    e.date_last_modified,
    e.topic,
    json_transform(e.payload, '{
        "app_order_id": "VARCHAR", "app_customer_id": "VARCHAR", "status": "VARCHAR",
        "channel": "VARCHAR", "currency": "VARCHAR", "sub_total": "VARCHAR",
        "shipping_total": "VARCHAR", "tax_total": "VARCHAR", "discount_total": "VARCHAR",
        "total": "VARCHAR", "date_created": "VARCHAR",
        "bags": [{
            "id": "VARCHAR", "order_id": "VARCHAR", "merchant_id": "VARCHAR",
            "merchant_name": "VARCHAR", "external_id": "VARCHAR", "status": "VARCHAR",
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
        "payment_transactions": [{
            "id": "VARCHAR", "order_id": "VARCHAR", "related_bags": ["VARCHAR"],
            "payment_provider": "VARCHAR", "payment_provider_transaction_id": "VARCHAR",
            "amount": "VARCHAR", "currency": "VARCHAR", "capture_status": "VARCHAR",
            "capture_method": "VARCHAR", "transfer_status": "VARCHAR",
            "transfer_method": "VARCHAR", "errors": "JSON", "date_created": "VARCHAR",
            "date_last_modified": "VARCHAR"
        }]
    }') as o,
from {events} as e
where e.entity = 'order';
