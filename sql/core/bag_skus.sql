-- grain: one row per bag line id: its current state, the newest version in
-- core.bag_skus_history, with its JSON as found in bags[].skus[] of the order event that holds
-- it; key: id.
-- inputs: temp tables cur_all (tbl, id, event_key: every affected id's current version, from the
--   *_history_write.sql files), cur_need (those whose payload is not already in core.bag_skus,
--   _current_need.sql) and need_bags (_current_orders.sql); core.bag_skus_history;
--   core.bag_skus.
-- outputs: core.bag_skus rows of the affected ids, deleted and written again; temp view c_need
--   and temp table c_payload (scratch).
-- A current row is the history's current row plus the payload of the version: kept from the old
-- current row when the version did not change, else taken from its event.
create or replace temp view c_need as
select id, event_key from cur_need where tbl = 'bag_skus';

create or replace temp table c_payload as
select c.id, c.event_key, c.payload
from core.bag_skus as c
semi join (
    select id, event_key from cur_all where tbl = 'bag_skus'
) as k using (id, event_key);

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

-- A version whose payload cannot be found keeps its row with a NULL payload (a failed check).
insert into core.bag_skus by name
select h.* exclude (valid_from, valid_to, is_current), p.payload
from core.bag_skus_history as h
left join c_payload as p using (id, event_key)
where
    h.is_current
    and h.id in (select id from cur_all where tbl = 'bag_skus');
