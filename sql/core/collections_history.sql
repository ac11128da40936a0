-- grain: one row per version of a collection (id, date_last_modified). Source: COLLECTION_*
-- topics (not collection syncs).
select
    e.entity_id as id,
    e.date_last_modified,
    e.received_at,
    e.event_key,
    e.topic as last_topic,
    violet_int(e.payload, '$.merchant_id') as merchant_id,
    e.payload ->> '$.external_id' as external_id,
    e.payload ->> '$.name' as name,
    e.payload ->> '$.type' as type,
    e.payload ->> '$.handle' as handle,
    violet_ts(e.payload ->> '$.date_created') as date_created,
from {events} as e
where e.entity = 'collection'
