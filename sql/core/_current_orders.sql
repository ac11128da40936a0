-- The bags[] and payment_transactions[] of the order events holding a current version whose
-- payload is wanted (inputs: temp tables need_events and cur_need), each order's JSON parsed
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
