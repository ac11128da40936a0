-- grain: one row per transfer id: its current state, the newest version in core.transfers_history, with the
-- payload of the event that holds it. This file selects those payloads (placeholders: need, the
-- (id, event_key) of the versions whose payload is wanted; events, events holding them);
-- _current.sql joins them to the history's current rows.
select n.id, n.event_key, e.payload
from {need} as n
inner join {events} as e using (event_key)
