-- grain: one row per payment transaction id: its current state, the newest version in
-- core.payment_transactions_history, with the payload that holds it: the event's own for the
-- PAYMENT_TRANSACTION_* topics, else its element of the order's payment_transactions[] (temp
-- table need_orders, see _current_orders.sql); key: id.
-- inputs: temp view c_need, temp table c_payload and temp view c_rows (_current_rows.sql, run
--   just before for this entity); need_events and need_orders (_need_events.sql,
--   _current_orders.sql); temp table cur_all.
-- outputs: core.payment_transactions rows of the affected ids, deleted and written again (their
--   payloads found here, appended to c_payload, the rest of the row from c_rows).
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

insert into core.payment_transactions by name
select * from c_rows;
