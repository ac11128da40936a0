-- grain: one row per bag id: its current state, the newest version in core.bags_history, with
-- its JSON as found in the bags[] of the order event that holds it; key: id.
-- inputs: temp view c_need, temp table c_payload and temp view c_rows (_current_rows.sql, run
--   just before for this entity); need_bags (_current_orders.sql); temp table cur_all.
-- outputs: core.bags rows of the affected ids, deleted and written again (their payloads found
--   here, appended to c_payload, the rest of the row from c_rows).
insert into c_payload by name
select n.id, n.event_key, b.payload
from need_bags as b
inner join c_need as n
    on n.event_key = b.event_key and n.id = violet_minor(b.payload ->> '$.id');

delete from core.bags
where id in (select id from cur_all where tbl = 'bags');

insert into core.bags by name
select * from c_rows;
