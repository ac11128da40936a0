-- grain: one row per affected id of one entity: its current history row and its payload; key:
--   id.
-- inputs: variables core_entity (the entity, e.g. 'orders'), core_current (its current table,
--   core.<entity>) and core_history (its history, core.<entity>_history); temp tables cur_all
--   (tbl, id, event_key: every affected id's current version, from the *_history_write.sql
--   files) and cur_need (those whose payload is not already in the current table,
--   _current_need.sql).
-- outputs: temp view c_need (this entity's rows of cur_need: the payloads <entity>.sql must
--   find), temp table c_payload (id, event_key, payload: the payloads kept from the current
--   table; <entity>.sql appends the ones it finds) and temp view c_rows (the rows <entity>.sql
--   writes into core.<entity>, read after it appended to c_payload).
-- A current row is the history's current row plus the payload of the version: kept from the old
-- current row when the version did not change, else taken from its event. A version whose
-- payload cannot be found keeps its row with a NULL payload (a failed check).
create or replace temp view c_need as
select id, event_key from cur_need where tbl = getvariable('core_entity');

create or replace temp table c_payload as
select c.id, c.event_key, c.payload
from query_table(getvariable('core_current')) as c
semi join (
    select id, event_key from cur_all where tbl = getvariable('core_entity')
) as k using (id, event_key);

create or replace temp view c_rows as
select h.* exclude (valid_from, valid_to, is_current), p.payload
from query_table(getvariable('core_history')) as h
left join c_payload as p using (id, event_key)
where
    h.is_current
    and h.id in (select id from cur_all where tbl = getvariable('core_entity'));
