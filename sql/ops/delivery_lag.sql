-- grain: one row per (topic, day received); key: (day, topic).
-- inputs: staging.deliveries; temp table touched_days.
-- outputs: ops.delivery_lag rows of the touched days, deleted and written again.
-- How long after the entity changed
-- (date_last_modified) the delivery reached us: p50, p95 and max in seconds, over deliveries
-- that passed quarantine. Days touched by the load are recomputed (temp table touched_days).
delete from ops.delivery_lag where day in (select day from touched_days);

insert into ops.delivery_lag by name
select
    utc_day(received_at) as day,
    canonical_topic as topic,
    count(*) as deliveries,
    quantile_cont(epoch(received_at) - epoch(date_last_modified), 0.5) as p50_seconds,
    quantile_cont(epoch(received_at) - epoch(date_last_modified), 0.95) as p95_seconds,
    max(epoch(received_at) - epoch(date_last_modified)) as max_seconds,
from staging.deliveries
where quarantine_reason is null
    and utc_day(received_at) in (select day from touched_days)
group by all;
