-- The history/current-state maintenance every core entity shares. Placeholders: table (the
-- entity's table), versions_changed and versions_all (the SELECT of its <table>_history.sql
-- over temp tables changed_events and source_events), all (v_all, or v_new on a first
-- build), current (the SELECT of its <table>.sql).
-- Newest wins by the entity's own clock: current = greatest date_last_modified; one version per
-- (id, date_last_modified), ties going to the latest received, then the greatest event key.
-- Only ids with new versions are rebuilt, so the cost follows new data, not history.
create or replace temp table v_new as
select * from ({versions_changed}) as v;

create or replace temp table v_bad as
select count(*) as n from v_new where id is null or date_last_modified is null;

delete from v_new where id is null or date_last_modified is null;

create or replace temp table v_ids as select distinct id from v_new;

-- Every version of an affected id is derived again from all of its source events (temp table
-- source_events, see _sources.sql). On a first build every event is new: v_all is then empty
-- and {all} is v_new itself.
create or replace temp table v_all as
select * from ({versions_all}) as v
where v.id in (select id from v_ids) and v.date_last_modified is not null;

create table if not exists core.{table}_history as
select
    *,
    date_last_modified as valid_from,
    null::timestamptz as valid_to,
    true as is_current,
from v_new
limit 0;

delete from core.{table}_history where id in (select id from v_ids);

-- The windows are computed on narrow rows and joined back by rowid, so the wide payloads are
-- never sorted.
create or replace temp table v_chosen as
select * exclude (rid) from (
    select rowid as rid, * from {all}
) as v
semi join (
    select rid
    from (select rowid as rid, id, date_last_modified, received_at, event_key from {all})
    qualify row_number() over (
        partition by id, date_last_modified order by received_at desc, event_key desc
    ) = 1
) as keep using (rid);

insert into core.{table}_history by name
select
    c.* exclude (rid),
    c.date_last_modified as valid_from,
    w.valid_to,
    w.valid_to is null as is_current,
from (select rowid as rid, * from v_chosen) as c
inner join (
    select rowid as rid, lead(date_last_modified) over (
        partition by id order by date_last_modified
    ) as valid_to
    from v_chosen
) as w using (rid);

create table if not exists core.{table} as
select * from ({current}) limit 0;

delete from core.{table} where id in (select id from v_ids);

insert into core.{table} by name
select * from ({current}) as c where c.id in (select id from v_ids);
