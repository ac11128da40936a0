-- grain: one row per stored delivery that cannot be modeled; key: (ingest_instance, sequence).
-- inputs: temp table new_parsed (deliveries.sql); variable batch_id.
-- outputs: staging.quarantine (new rows).
-- reason, and detail: where in the body (a path such as total, bags[1].id or
-- bags[0].skus[2].price; NULL for invalid_json, missing_topic, unknown_topic and wrong_shape).
-- The first that applies, in this order: invalid_json (not UTF-8 JSON, or not an object),
-- missing_topic, unknown_topic (a name neither in staging.topics nor of a known family),
-- duplicate_key (a key given twice in one object: Python's json reads the last, DuckDB the
-- first; checked at the top level and, in orders, in the objects of its lists, such as bags[]
-- and payment_transactions[], and in bags[].skus[]; '..key' when the object is in another list),
-- wrong_shape (a new name of a known family whose body is not that family's entity, see
-- staging.topic_families), then the first problem of the body's fields (its id, then the fields
-- its entity's models type, then its timestamps), then of its bags in order (each bag's fields,
-- then its lines, then refunds[]), then of its payment transactions, then the same child twice:
--   missing_id (the body's id, or a bag's, line's or embedded payment transaction's),
--   missing_field (an order without total or currency, a transfer without amount or currency:
--   finance reconciles every order and transfer),
--   wrong_type (an id not an integer, money not integer minor units, a number, boolean or list of
--   another type, an element of bags[] that is not an object), id_out_of_range (an id <= 0 or
--   past 2^63 - 1), money_out_of_range (below 0 or past 10^15 minor units), number_out_of_range (a
--   quantity or count below 0 or past 10^9, a commission rate outside 0-100),
--   duplicate_child_id (the same bag, bag line or payment transaction twice in one order: the
--   later one), missing_timestamp (no date_last_modified, of the body or of a bag or embedded
--   payment transaction), bad_timestamp (not one of Violet's spellings, a day the calendar does
--   not have, before 2000, or T24:00:00), future_timestamp (later than the delivery's receipt
--   plus the tolerance, 1 day by default: such a version would stay current state).
-- Every value a model types is checked here (per entity: the fields its models read; sql/macros.sql
-- "The door"), so core and finance never fail on a body and never drop a child silently: a bag or
-- line that cannot be modeled quarantines its whole order delivery, named in detail.
-- Quarantine never blocks the rest: these deliveries just do not become events.
insert into staging.quarantine by name
select
    ingest_instance,
    sequence,
    delivery_id,
    event_key,
    topic,
    received_at,
    raw_file,
    getvariable('batch_id') as batch_id,
    quarantine_reason as reason,
    body,
    headers,
    quarantine_detail as detail,
from new_parsed
where quarantine_reason is not null;
