-- grain: one row per sync id: its current state, the newest version in core.syncs_history, with
-- the payload of the event that holds it; key: id.
-- inputs: temp view c_need, temp table c_payload and temp view c_rows (_current_rows.sql, run
--   just before for this entity); need_events (_need_events.sql); temp table cur_all.
-- outputs: core.syncs rows of the affected ids, deleted and written again (their payloads found
--   here, appended to c_payload, the rest of the row from c_rows).
insert into c_payload by name
select n.id, n.event_key, e.payload
from c_need as n
inner join need_events as e using (event_key);

delete from core.syncs
where id in (select id from cur_all where tbl = 'syncs');

insert into core.syncs by name
select * from c_rows;
