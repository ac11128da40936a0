-- grain: one row per order event holding a current version of an order-derived entity whose
--   payload is wanted; key: event_key.
-- inputs: temp tables need_events (_need_events.sql) and cur_need (_current_need.sql).
-- outputs: temp table need_orders (event_key, parts: the event's bags[] and
--   payment_transactions[] as JSON) and temp view need_bags (event_key, payload: one row per
--   bag), read by bags.sql, bag_skus.sql and payment_transactions.sql.
-- The bags[] and payment_transactions[] of the order events holding a current version whose
-- payload is wanted, each order's JSON parsed
-- once for bags.sql, bag_skus.sql and payment_transactions.sql.
create or replace temp table need_orders as
select
    e.event_key,
    json_transform(e.payload, '{"bags": ["JSON"], "payment_transactions": ["JSON"]}') as parts,
from need_events as e
semi join (
    select event_key from cur_need where tbl in ('bags', 'bag_skus', 'payment_transactions')
) as n using (event_key)
where e.entity = 'order';

create or replace temp view need_bags as
select event_key, unnest(parts.bags) as payload,
from need_orders;
