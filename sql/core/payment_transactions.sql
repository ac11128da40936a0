-- grain: one row per payment transaction id: its current state, the newest version in
-- core.payment_transactions_history, with the payload that holds it: the event's own for the
-- PAYMENT_TRANSACTION_* topics, else its element of the order's payment_transactions[] (temp
-- table need_orders, see _current_orders.sql); key: id.
-- inputs: temp tables cur_all (tbl, id, event_key: every affected id's current version, from the
--   *_history_write.sql files), cur_need (those whose payload is not already in
--   core.payment_transactions, _current_need.sql) and need_events and need_orders
--   (_need_events.sql, _current_orders.sql); core.payment_transactions_history;
--   core.payment_transactions.
-- outputs: core.payment_transactions rows of the affected ids, deleted and written again; temp
--   view c_need and temp table c_payload (scratch).
-- A current row is the history's current row plus the payload of the version: kept from the old
-- current row when the version did not change, else taken from its event.
create or replace temp view c_need as
select id, event_key from cur_need where tbl = 'payment_transactions';

create or replace temp table c_payload as
select c.id, c.event_key, c.payload
from core.payment_transactions as c
semi join (
    select id, event_key from cur_all where tbl = 'payment_transactions'
) as k using (id, event_key);

insert into c_payload by name
select p.id, p.event_key, p.payload
from (
    with
    embedded as (
        select o.event_key, unnest(o.parts.payment_transactions) as payload,
        from need_orders as o
        semi join c_need as n using (event_key)
    )

    select n.id, n.event_key, e.payload
    from c_need as n
    inner join need_events as e using (event_key)
    where e.entity = 'payment_transaction'
    union all
    select n.id, n.event_key, p.payload
    from embedded as p
    inner join c_need as n
        on n.event_key = p.event_key and n.id = violet_minor(p.payload ->> '$.id')
) as p;

delete from core.payment_transactions
where id in (select id from cur_all where tbl = 'payment_transactions');

-- A version whose payload cannot be found keeps its row with a NULL payload (a failed check).
insert into core.payment_transactions by name
select h.* exclude (valid_from, valid_to, is_current), p.payload
from core.payment_transactions_history as h
left join c_payload as p using (id, event_key)
where
    h.is_current
    and h.id in (select id from cur_all where tbl = 'payment_transactions');
