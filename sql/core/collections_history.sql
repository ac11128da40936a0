-- grain: one row per version of a collection; key: (id, date_last_modified).
-- inputs: argument events (a table or view of staging.events rows, with payload); macros
--   violet_minor/violet_ts (sql/macros.sql).
-- outputs: table macro entity_versions(events, orders), the version select that
--   _history_merge.sql calls (on the changed, the picked and, when rederiving, all source
--   events); collections_history_write.sql writes core.collections_history.
-- Source: COLLECTION_* topics (not collection syncs).
create or replace temp macro entity_versions(events, orders) as table
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
    from query_table(events) as e
    where e.entity = 'collection';
