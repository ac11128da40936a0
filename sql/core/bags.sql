-- grain: one row per bag id: its current state, the newest version in core.bags_history, with
-- its JSON as found in the bags[] of the order event that holds it. This file selects those
-- payloads (placeholders: need, the (id, event_key) of the versions whose payload is wanted;
-- events, events holding them); _current.sql joins them to the history's current rows.
with
bags as (
    select e.event_key, unnest(json_transform(e.payload, '{"bags": ["JSON"]}').bags) as payload,
    from {events} as e
    semi join {need} as n using (event_key)
    where e.entity = 'order'
)

select n.id, n.event_key, b.payload
from bags as b
inner join {need} as n
    on n.event_key = b.event_key and n.id = violet_minor(b.payload ->> '$.id')
