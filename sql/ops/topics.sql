-- grain: one row per topic name ever received; key: topic.
-- inputs: staging.deliveries, staging.topics, staging.topic_families, ops.event_counts,
--   ops.topics; variables ops_since, topics_since.
-- outputs: ops.topics rows of the topics loaded since the watermark, deleted and written again;
--   temp tables topic_new, topic_new_events, topic_merged (scratch).
-- A topic name as sent; '(none)' for deliveries without an X-Violet-Topic. What the name is
-- (canonical spelling, entity, whether Violet documents it: staging.topics /
-- staging.topic_families), when it was first and last received,
-- its deliveries, unique logical events (quarantined or not), quarantined deliveries and their
-- reasons. Kept incrementally: the deliveries loaded since ops' watermark (variable ops_since,
-- as ops.event_counts) are added to the rows of their topics; every figure equals a recount
-- over staging.deliveries. Run whole by build_ops (the table: topics.ddl.sql).
-- Without a watermark (a first build, or a lost one) every delivery is counted again, from an
-- empty table.
delete from ops.topics where getvariable('ops_since') = 0;

-- Deliveries already counted: those of batches up to the watermark, or none while ops.topics
-- is empty (a warehouse that had ops before ops.topics existed is counted from the start).
set variable topics_since = (
    select case when count(*) > 0 then getvariable('ops_since') else 0 end from ops.topics
);

create or replace temp table topic_new as
select
    coalesce(topic, '(none)') as topic,
    canonical_topic,
    entity,
    topic_documented,
    received_at,
    event_key,
    quarantine_reason,
from staging.deliveries
where batch_id > getvariable('topics_since');

-- A logical event counts once per topic: the new (topic, event) pairs no earlier delivery had.
create or replace temp table topic_new_events as
select topic, count(*) as unique_events,
from (
    select distinct topic, event_key from topic_new
    except
    select coalesce(topic, '(none)') as topic, event_key
    from staging.deliveries
    where batch_id <= getvariable('topics_since')
        and event_key in (select event_key from topic_new)
) as pairs
group by topic;

create or replace temp table topic_merged as
with
delta as (
    select
        topic,
        any_value(canonical_topic) as canonical_topic,
        any_value(entity) as entity,
        coalesce(bool_or(topic_documented), false) as documented,
        min(received_at) as first_seen_at,
        max(received_at) as last_seen_at,
        count(*) as deliveries,
        count_if(quarantine_reason is not null) as quarantined,
    from topic_new
    group by topic
),

old as (
    select o.*
    from ops.topics as o
    semi join delta using (topic)
),

reasons as (
    select topic, reason, sum(n)::bigint as n,
    from (
        select o.topic, r.e.key as reason, r.e.value as n,
        from old as o, unnest(map_entries(o.quarantine_reasons)) as r (e)
        union all
        select topic, quarantine_reason as reason, count(*) as n,
        from topic_new
        where quarantine_reason is not null
        group by all
    ) as counted
    group by all
),

reason_maps as (
    select
        topic,
        map_from_entries(list({'key': reason, 'value': n} order by reason)) as m,  -- noqa: LT01
    from reasons
    group by topic
),

final as (
    select
        d.topic,
        d.canonical_topic,
        d.entity,
        d.documented,
        least(o.first_seen_at, d.first_seen_at) as first_seen_at,
        greatest(o.last_seen_at, d.last_seen_at) as last_seen_at,
        coalesce(o.deliveries, 0) + d.deliveries as deliveries,
        coalesce(o.unique_events, 0) + coalesce(e.unique_events, 0) as unique_events,
        coalesce(o.quarantined, 0) + d.quarantined as quarantined,
        coalesce(r.m, cast(map() as map(varchar, bigint))) as quarantine_reasons,  -- noqa: LT01
    from delta as d
    left join old as o using (topic)
    left join topic_new_events as e using (topic)
    left join reason_maps as r using (topic)
)

select * from final;

delete from ops.topics where topic in (select topic from topic_merged);

insert into ops.topics by name
select * from topic_merged order by topic;
