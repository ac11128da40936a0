-- grain: one row per bag line id: its current state, the newest version in
-- core.bag_skus_history, with its JSON as found in bags[].skus[] of the order event that holds
-- it; key: id.
-- inputs: temp view c_need, temp table c_payload and temp view c_rows (_current_rows.sql, run
--   just before for this entity); need_bags (_current_orders.sql); temp table cur_all.
-- outputs: core.bag_skus rows of the affected ids, deleted and written again (their payloads
--   found here, appended to c_payload, the rest of the row from c_rows).
insert into c_payload by name
select p.id, p.event_key, p.payload
from (
    with
    lines as (
        select b.event_key, unnest(json_transform(b.payload, '{"skus": ["JSON"]}').skus) as payload,
        from need_bags as b
        semi join c_need as n using (event_key)
    )

    select n.id, n.event_key, l.payload
    from lines as l
    inner join c_need as n
        on n.event_key = l.event_key and n.id = violet_minor(l.payload ->> '$.id')
) as p;

delete from core.bag_skus
where id in (select id from cur_all where tbl = 'bag_skus');

insert into core.bag_skus by name
select * from c_rows;
