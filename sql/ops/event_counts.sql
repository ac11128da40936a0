-- grain: one row per (topic, day received). Deliveries stored, unique logical events first
-- seen that day, retries, resends and quarantined deliveries. Days touched by the load are
-- recomputed (temp table touched_days).
create table if not exists ops.event_counts (
    day date,
    topic varchar,
    deliveries bigint,
    unique_events bigint,
    retries bigint,
    resends bigint,
    quarantined bigint
);

-- build: the statements below run on each load; the table definition above runs first.
delete from ops.event_counts where day in (select day from touched_days);

insert into ops.event_counts by name
with
deliveries as (
    select
        cast(received_at at time zone 'UTC' as date) as day,
        coalesce(canonical_topic, topic, '(none)') as topic,
        event_key,
        delivery_kind,
        quarantine_reason,
        received_at,
        ingest_instance,
        sequence,
    from staging.deliveries
    where cast(received_at at time zone 'UTC' as date) in (select day from touched_days)
),

firsts as (
    -- a logical event counts on the day its first delivery arrived
    select event_key, min(received_at) as first_received_at,
    from staging.deliveries
    where event_key in (select event_key from deliveries)
    group by event_key
)

select
    d.day,
    d.topic,
    count(*) as deliveries,
    count(distinct d.event_key) filter (
        where d.received_at = f.first_received_at and d.quarantine_reason is null
    ) as unique_events,
    count_if(d.delivery_kind = 'retry') as retries,
    count_if(d.delivery_kind = 'resend') as resends,
    count_if(d.quarantine_reason is not null) as quarantined,
from deliveries as d
inner join firsts as f using (event_key)
group by all;
