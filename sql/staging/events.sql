-- grain: one row per logical event; key: event_key.
-- inputs: temp table new_parsed (deliveries.sql); staging.deliveries, staging.events; variable
--   batch_id.
-- outputs: staging.events rows of the touched keys, deleted and written again; temp tables
--   touched_events, event_candidates, event_first, event_delivery_counts.
-- one row per logical event, key event_key = coalesce(X-Violet-Event-Id-Source,
-- X-Violet-Event-Id, 'sha256:' || body hash). The payload is that of the event's first received
-- delivery (retries and resends carry the same body). Every stored delivery's event is here;
-- quarantine_reason (of that first delivery) says when it cannot be modeled, and core reads only
-- the events where it is null.
-- Incremental: for every key the load touched, the first delivery is chosen again among its
-- old row and the new deliveries; counts are recounted from staging.deliveries.
create or replace temp table touched_events as
select distinct event_key from new_parsed;

-- Each touched event's first delivery, chosen on narrow rows among the new deliveries and the
-- event's current row, so that payloads are neither sorted nor copied.
create or replace temp table event_candidates as
select event_key, received_at, ingest_instance, sequence, false as is_old, rowid as rid,
from new_parsed
union all
select event_key, received_at, ingest_instance, sequence, true as is_old, null as rid,
from staging.events
where event_key in (select event_key from touched_events);

create or replace temp table event_first as
select event_key, is_old, rid,
from event_candidates
qualify row_number() over (
    partition by event_key order by received_at, ingest_instance, sequence
) = 1;

create or replace temp table event_delivery_counts as
select
    event_key,
    count(*) as n_deliveries,
    count_if(delivery_kind = 'retry') as n_retries,
    count_if(delivery_kind = 'resend') as n_resends,
    max(received_at) as last_received_at,
from staging.deliveries
where event_key in (select event_key from touched_events)
group by event_key;

-- An event whose first delivery is still its row keeps it: only its counts change, and its
-- batch_id stays (core reads only events whose content a load changed).
update staging.events as e
set
    n_deliveries = c.n_deliveries,
    n_retries = c.n_retries,
    n_resends = c.n_resends,
    last_received_at = c.last_received_at
from (
    select c.*
    from event_delivery_counts as c
    semi join (select event_key from event_first where is_old) as f using (event_key)
) as c
where e.event_key = c.event_key;

-- Otherwise the row is (re)built from its new first delivery.
delete from staging.events
where event_key in (select event_key from event_first where not is_old);

insert into staging.events by name
select
    n.event_key,
    n.delivery_id,
    n.canonical_topic as topic,
    n.entity,
    n.entity_id,
    n.date_last_modified,
    n.received_at,
    n.ingest_instance,
    n.sequence,
    n.payload,
    n.quarantine_reason,
    c.n_deliveries,
    c.n_retries,
    c.n_resends,
    c.last_received_at,
    getvariable('batch_id') as batch_id,
from new_parsed as n
inner join (select rid from event_first where not is_old) as f on n.rowid = f.rid
inner join event_delivery_counts as c on c.event_key = n.event_key;
