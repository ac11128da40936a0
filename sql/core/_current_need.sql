-- grain: one row per (tbl, id) of one entity whose current version's payload is not already in
-- its current table; key: (tbl, id).
-- inputs: temp table cur_all (tbl, id, event_key: every affected id's current version);
--   variables core_entity (the entity, e.g. 'orders') and core_current (its current table,
--   core.<entity>).
-- outputs: rows appended to temp table cur_need (tbl, id, event_key).
insert into cur_need
select a.tbl, a.id, a.event_key
from cur_all as a
anti join query_table(getvariable('core_current')) as c
    on a.id = c.id and a.event_key = c.event_key
where a.tbl = getvariable('core_entity');
