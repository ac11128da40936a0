-- grain: one row per (topic, day received); key: (day, topic).
-- inputs: staging.deliveries, staging.events; temp table touched_days.
-- outputs: ops.event_counts rows of the touched days, deleted and written again.
-- Deliveries stored, unique logical events first
-- seen that day, retries, resends and quarantined deliveries. Days touched by the load are
-- recomputed (temp table touched_days).
delete from ops.event_counts where day in (select day from touched_days);

insert into ops.event_counts by name
with
deliveries as (
    select
        utc_day(received_at) as day,
        coalesce(canonical_topic, topic, '(none)') as topic,
        count(*) as deliveries,
        count_if(delivery_kind = 'retry') as retries,
        count_if(delivery_kind = 'resend') as resends,
        count_if(quarantine_reason is not null) as quarantined,
    from staging.deliveries
    where utc_day(received_at) in (select day from touched_days)
    group by all
),

firsts as (
    -- a logical event counts on the day its first delivery arrived, under that delivery's
    -- topic; staging.events holds exactly that delivery's time, topic and quarantine reason
    select
        utc_day(received_at) as day,
        topic,
        count(*) as unique_events,
    from staging.events
    where quarantine_reason is null
        and utc_day(received_at) in (select day from touched_days)
    group by all
)

select
    d.day,
    d.topic,
    d.deliveries,
    coalesce(f.unique_events, 0) as unique_events,
    d.retries,
    d.resends,
    d.quarantined,
from deliveries as d
left join firsts as f using (day, topic);
