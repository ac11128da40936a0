-- grain: one row per logical event, key event_key = coalesce(X-Violet-Event-Id-Source,
-- X-Violet-Event-Id, 'sha256:' || body hash). The payload is that of the event's first received
-- delivery (retries and resends carry the same body). Every stored delivery's event is here;
-- quarantine_reason (of that first delivery) says when it cannot be modeled, and core reads only
-- the events where it is null.
-- Incremental: every key the load touched is rebuilt from its old row and the new deliveries.
create table if not exists staging.events (
    event_key varchar,
    delivery_id varchar,
    topic varchar,
    entity varchar,
    entity_id bigint,
    date_last_modified timestamptz,
    received_at timestamptz,
    ingest_instance varchar,
    sequence bigint,
    payload json,
    quarantine_reason varchar,
    n_deliveries bigint,
    n_retries bigint,
    n_resends bigint,
    last_received_at timestamptz,
    batch_id bigint
);

-- build: the statements below run on each load; the table definition above runs first.
create or replace temp table touched_events as
select distinct event_key from new_parsed;

create or replace temp table event_candidates as
select
    event_key,
    delivery_id,
    canonical_topic as topic,
    entity,
    entity_id,
    date_last_modified,
    received_at,
    ingest_instance,
    sequence,
    payload,
    quarantine_reason,
from new_parsed
union all by name
select
    event_key,
    delivery_id,
    topic,
    entity,
    entity_id,
    date_last_modified,
    received_at,
    ingest_instance,
    sequence,
    payload,
    quarantine_reason,
from staging.events
where event_key in (select event_key from touched_events);

delete from staging.events where event_key in (select event_key from touched_events);

insert into staging.events by name
with
first_delivery as (
    -- chosen on narrow rows and joined back by rowid, so the payloads are never sorted
    select c.* exclude (rid)
    from (select rowid as rid, * from event_candidates) as c
    semi join (
        select rid
        from (
            select rowid as rid, event_key, received_at, ingest_instance, sequence
            from event_candidates
        )
        qualify row_number() over (
            partition by event_key order by received_at, ingest_instance, sequence
        ) = 1
    ) as k using (rid)
),

counts as (
    select
        event_key,
        count(*) as n_deliveries,
        count_if(delivery_kind = 'retry') as n_retries,
        count_if(delivery_kind = 'resend') as n_resends,
        max(received_at) as last_received_at,
    from staging.deliveries
    where event_key in (select event_key from touched_events)
    group by event_key
)

select
    f.*,
    c.n_deliveries,
    c.n_retries,
    c.n_resends,
    c.last_received_at,
    getvariable('batch_id') as batch_id,
from first_delivery as f
inner join counts as c using (event_key);
