-- grain: one row per bag id: its current state, the newest version in core.bags_history, with
-- its JSON as found in the bags[] of the order event that holds it. This file selects those
-- payloads (placeholder need: the (id, event_key) of the versions whose payload is wanted;
-- input: temp table need_bags, see _current_orders.sql); _current.sql joins them to the
-- history's current rows.
select n.id, n.event_key, b.payload
from need_bags as b
inner join {need} as n
    on n.event_key = b.event_key and n.id = violet_minor(b.payload ->> '$.id')
