-- The history/current-state maintenance every core entity shares. Placeholders: table (the
-- entity's table); versions_changed (the SELECT of its <table>_history.sql over the changed
-- events); versions_all (the key rows, id, date_last_modified, received_at and event_key, of
-- every other version an affected id may have: none on a first build, else the ids' current
-- history rows or, when a changed event already held a version, the SELECT over temp table
-- source_events); all (v_all, or v_new on a first build); keep (true: history rows whose event
-- did not change are kept as they are rather than derived again); versions_picked (the SELECT
-- over the events that can hold a chosen version). History rows carry typed columns, no payload:
-- a version's JSON is its event's (staging.events.payload by event_key).
-- Newest wins by the entity's own clock: current = greatest date_last_modified; one version per
-- (id, date_last_modified), ties going to the latest received, then the greatest event key.
-- Only ids with new versions are rebuilt, so the cost follows new data, not history.
-- Versions are chosen on narrow key rows; the wide rows (typed columns) are derived
-- only for the chosen versions, and go straight into the history table.
create or replace temp table v_new as
select v.id, v.date_last_modified, v.received_at, v.event_key from ({versions_changed}) as v;

create or replace temp table v_bad as
select count(*) as n from v_new where id is null or date_last_modified is null;

delete from v_new where id is null or date_last_modified is null;

create or replace temp table v_ids as select distinct id from v_new;

create or replace temp table v_all as
select v.id, v.date_last_modified, v.received_at, v.event_key from ({versions_all}) as v
where v.id in (select id from v_ids) and v.date_last_modified is not null;

create or replace temp table v_pick as
select
    id,
    date_last_modified,
    event_key,
    lead(date_last_modified) over (partition by id order by date_last_modified) as valid_to,
from (
    select id, date_last_modified, received_at, event_key from {all}
    qualify row_number() over (
        partition by id, date_last_modified order by received_at desc, event_key desc
    ) = 1
);

create or replace temp table v_pick_events as select distinct event_key from v_pick;

-- Chosen versions already in history, from events that did not change: kept as they are.
create or replace temp table v_keep as
select h.* exclude (valid_from, valid_to, is_current)
from core.{table}_history as h
semi join v_pick as p
    on h.id = p.id and h.date_last_modified = p.date_last_modified and h.event_key = p.event_key
where {keep} and h.id in (select id from v_ids);

delete from core.{table}_history where id in (select id from v_ids);

insert into core.{table}_history by name
select
    v.*,
    p.date_last_modified as valid_from,
    p.valid_to,
    p.valid_to is null as is_current,
from (
    select * from v_keep
    union all by name
    select d.*
    from ({versions_picked}) as d
    anti join v_keep as k
        on d.id = k.id and d.date_last_modified = k.date_last_modified and d.event_key = k.event_key
) as v
inner join v_pick as p
    on v.id = p.id and v.date_last_modified = p.date_last_modified and v.event_key = p.event_key;

-- The current version of every affected id: current state is rewritten for these after every
-- history is merged (_current.sql), when their payloads are fetched in one pass.
insert into cur_all select '{table}', id, event_key from v_pick where valid_to is null;
