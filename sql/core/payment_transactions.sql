-- grain: one row per payment transaction id: its current state, the newest version in
-- core.payment_transactions_history, with the payload that holds it: the event's own for the
-- PAYMENT_TRANSACTION_* topics, else its element of the order's payment_transactions[] (temp
-- table need_orders, see _current_orders.sql). This file selects those payloads (placeholders:
-- need, the (id, event_key) of the versions whose payload is wanted; events, events holding
-- them); _current.sql joins them to the history's current rows.
with
embedded as (
    select o.event_key, unnest(o.parts.payment_transactions) as payload,
    from need_orders as o
    semi join {need} as n using (event_key)
)

select n.id, n.event_key, e.payload
from {need} as n
inner join {events} as e using (event_key)
where e.entity = 'payment_transaction'
union all
select n.id, n.event_key, p.payload
from embedded as p
inner join {need} as n
    on n.event_key = p.event_key and n.id = violet_minor(p.payload ->> '$.id')
