-- grain: one row per version of one entity (id, date_last_modified); key: (id,
-- date_last_modified). The history maintenance every core entity shares, over fixed names:
-- inputs: variable core_mode ('first': no history yet; 'keep': every changed event is new to
-- this history; 'rederive': a changed event already held a version, so every version of an
-- affected id is derived again from all of its source events); variable core_history (the
-- entity's history table, core.<entity>_history); variables core_events and core_docs (the
-- events and the parsed order documents that can hold a chosen version: views
-- changed_entity_events and changed_docs, or on 'rederive' temp table source_events and view
-- order_docs); table macro entity_versions(events, orders), the version select of the entity
-- (sql/core/<entity>_history.sql); views changed_entity_events and changed_docs (the changed
-- events, see _event_docs.sql). Outputs: temp tables v_new (key rows of the changed events'
-- versions), v_bad (n: versions without id or date), v_ids (affected ids), v_pick (the chosen
-- versions), v_keep (chosen history rows kept as they are) and temp view v_rows (every history
-- row of the affected ids, to be written by sql/core/<entity>_history_write.sql).
-- Newest wins by the entity's own clock: current = greatest date_last_modified; one version per
-- (id, date_last_modified), ties going to the latest received, then the greatest event key.
-- Only ids with new versions are rebuilt, so the cost follows new data, not history.
-- Versions are chosen on narrow key rows; the wide rows (typed columns) are derived
-- only for the chosen versions, and go straight into the history table.
create or replace temp table v_new as
select v.id, v.date_last_modified, v.received_at, v.event_key
from entity_versions('changed_entity_events', 'changed_docs') as v;

create or replace temp table v_bad as
select count(*) as n from v_new where id is null or date_last_modified is null;

delete from v_new where id is null or date_last_modified is null;

create or replace temp table v_ids as select distinct id from v_new;

-- Every version an affected id may have: on 'first' the new ones; on 'keep' also its history
-- rows; on 'rederive' all of them derived again from its source events.
create or replace temp table v_all as
select v.id, v.date_last_modified, v.received_at, v.event_key
from (
    select n.id, n.date_last_modified, n.received_at, n.event_key
    from v_new as n
    where getvariable('core_mode') in ('first', 'keep')
    union all
    select h.id, h.date_last_modified, h.received_at, h.event_key
    from query_table(getvariable('core_history')) as h
    where getvariable('core_mode') = 'keep'
    union all
    select s.id, s.date_last_modified, s.received_at, s.event_key
    from entity_versions(getvariable('core_events'), getvariable('core_docs')) as s
    where getvariable('core_mode') = 'rederive'
) as v
where v.id in (select id from v_ids) and v.date_last_modified is not null;

create or replace temp table v_pick as
select
    id,
    date_last_modified,
    event_key,
    lead(date_last_modified) over (partition by id order by date_last_modified) as valid_to,
from (
    select id, date_last_modified, received_at, event_key from v_all
    qualify row_number() over (
        partition by id, date_last_modified order by received_at desc, event_key desc
    ) = 1
) as newest;

create or replace temp table v_pick_events as select distinct event_key from v_pick;

-- Chosen versions already in history, from events that did not change: kept as they are.
create or replace temp table v_keep as
select h.* exclude (valid_from, valid_to, is_current)
from query_table(getvariable('core_history')) as h
semi join v_pick as p
    on h.id = p.id and h.date_last_modified = p.date_last_modified and h.event_key = p.event_key
where getvariable('core_mode') = 'keep' and h.id in (select id from v_ids);

-- The events and documents holding a chosen version.
create or replace temp view picked_events as
select * from query_table(getvariable('core_events'))
semi join v_pick_events using (event_key);

create or replace temp view picked_docs as
select * from query_table(getvariable('core_docs'))
semi join v_pick_events using (event_key);

create or replace temp view v_rows as
select
    v.*,
    p.date_last_modified as valid_from,
    p.valid_to,
    p.valid_to is null as is_current,
from (
    select * from v_keep
    union all by name
    select d.*
    from entity_versions('picked_events', 'picked_docs') as d
    anti join v_keep as k
        on d.id = k.id and d.date_last_modified = k.date_last_modified and d.event_key = k.event_key
) as v
inner join v_pick as p
    on v.id = p.id and v.date_last_modified = p.date_last_modified and v.event_key = p.event_key;
