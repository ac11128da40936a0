-- grain: one row per bag line id: its current state, the newest version in
-- core.bag_skus_history, with its JSON as found in bags[].skus[] of the order event that holds
-- it. This file selects those payloads (placeholder need: the (id, event_key) of the versions
-- whose payload is wanted; input: temp table need_bags, see _current_orders.sql); _current.sql
-- joins them to the history's current rows.
with
lines as (
    select b.event_key, unnest(json_transform(b.payload, '{"skus": ["JSON"]}').skus) as payload,
    from need_bags as b
    semi join {need} as n using (event_key)
)

select n.id, n.event_key, l.payload
from lines as l
inner join {need} as n
    on n.event_key = l.event_key and n.id = violet_minor(l.payload ->> '$.id')
