-- grain: one row per event that can hold a version of an id this core run changes; key:
--   event_key.
-- inputs: view/table changed_events; staging.events.
-- outputs: temp tables source_keys (entity, entity_id) and source_events (staging.events rows).
-- The events that can hold a version of anything changed in this core run. Every version of a
-- changed id is derived again from all of these, so core depends only on staging.events and
-- never on the order files were loaded in. A changed event's own entity; for a payment
-- transaction, its order (whose events embed it); for an order, the payment transactions it
-- embeds (which have events of their own). Bags and bag lines live only in their order's events,
-- covered by the order's key.
create or replace temp table source_keys as
select distinct entity, entity_id from changed_events
union
select 'order', violet_minor(payload ->> '$.order_id')
from changed_events
where entity = 'payment_transaction'
union
select 'payment_transaction', violet_minor(p.pt ->> '$.id')
from changed_events, unnest(try_cast(payload -> '$.payment_transactions' as json[])) as p (pt)
where entity = 'order';

create or replace temp table source_events as
select e.*
from staging.events as e
semi join source_keys as k on e.entity = k.entity and e.entity_id = k.entity_id
where e.quarantine_reason is null;
