-- grain: one row per order id: its current state, the newest version in core.orders_history,
-- with the payload of the event that holds it; key: id.
-- inputs: temp tables cur_all (tbl, id, event_key: every affected id's current version, from the
--   *_history_write.sql files), cur_need (those whose payload is not already in core.orders,
--   _current_need.sql) and need_events (_need_events.sql); core.orders_history; core.orders.
-- outputs: core.orders rows of the affected ids, deleted and written again; temp view c_need and
--   temp table c_payload (scratch).
-- A current row is the history's current row plus the payload of the version: kept from the old
-- current row when the version did not change, else taken from its event.
create or replace temp view c_need as
select id, event_key from cur_need where tbl = 'orders';

create or replace temp table c_payload as
select c.id, c.event_key, c.payload
from core.orders as c
semi join (
    select id, event_key from cur_all where tbl = 'orders'
) as k using (id, event_key);

insert into c_payload by name
select p.id, p.event_key, p.payload
from (
    select n.id, n.event_key, e.payload
    from c_need as n
    inner join need_events as e using (event_key)
) as p;

delete from core.orders
where id in (select id from cur_all where tbl = 'orders');

-- A version whose payload cannot be found keeps its row with a NULL payload (a failed check).
insert into core.orders by name
select h.* exclude (valid_from, valid_to, is_current), p.payload
from core.orders_history as h
left join c_payload as p using (id, event_key)
where
    h.is_current
    and h.id in (select id from cur_all where tbl = 'orders');
