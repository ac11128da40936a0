-- grain: one row per bag line id: its current state, the newest version in
-- core.bag_skus_history, with its JSON as found in bags[].skus[] of the order event that holds
-- it. This file selects those payloads (placeholders: need, the (id, event_key) of the versions
-- whose payload is wanted; events, events holding them); _current.sql joins them to the
-- history's current rows.
with
bags as (
    select
        e.event_key,
        unnest(json_transform(e.payload, '{"bags": [{"skus": ["JSON"]}]}').bags) as b,
    from {events} as e
    semi join {need} as n using (event_key)
    where e.entity = 'order'
),

lines as (
    select event_key, unnest(b.skus) as payload,
    from bags
)

select n.id, n.event_key, l.payload
from lines as l
inner join {need} as n
    on n.event_key = l.event_key and n.id = violet_minor(l.payload ->> '$.id')
