-- grain: one row per event holding a current version whose payload is wanted; key: event_key.
-- inputs: temp table cur_need (tbl, id, event_key); view/table changed_events; staging.events
-- when variable core_need_all is true (some wanted event is not among the changed events).
-- outputs: temp table need_events (event_key, entity, payload), read in one pass for every
-- entity's current state (sql/core/<entity>.sql).
create or replace temp table need_events as
select e.event_key, e.entity, e.payload
from changed_events as e
semi join (select distinct event_key from cur_need) as k using (event_key)
where not getvariable('core_need_all')
union all
select e.event_key, e.entity, e.payload
from staging.events as e
semi join (select distinct event_key from cur_need) as k using (event_key)
where getvariable('core_need_all') and e.quarantine_reason is null;
