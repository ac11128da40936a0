-- Current state of one entity for the ids whose history changed (placeholders: table; payloads,
-- the SELECT of its <table>.sql over the events holding the versions in temp table cur_need).
-- Inputs: temp tables cur_all (tbl, id, event_key: every affected id's current version) and
-- cur_need (those of them whose payload is not already in core.<table>).
-- A current row is the history's current row plus the payload of the version: kept from the
-- old current row when the version did not change, else taken from its event.
create or replace temp table c_payload as
select c.id, c.event_key, c.payload
from core.{table} as c
semi join (select id, event_key from cur_all where tbl = '{table}') as k using (id, event_key);

insert into c_payload by name
select p.id, p.event_key, p.payload from ({payloads}) as p;

delete from core.{table} where id in (select id from cur_all where tbl = '{table}');

-- A version whose payload cannot be found keeps its row with a NULL payload (a failed check).
insert into core.{table} by name
select h.* exclude (valid_from, valid_to, is_current), p.payload
from core.{table}_history as h
left join c_payload as p using (id, event_key)
where h.is_current and h.id in (select id from cur_all where tbl = '{table}');
