-- grain: one row per version of a product or collection sync; key: (id, date_last_modified).
-- inputs: argument events (a table or view of staging.events rows, with payload); macros
--   violet_minor/violet_ts (sql/macros.sql).
-- outputs: table macro entity_versions(events, orders), the version select that
--   _history_merge.sql calls (on the changed, the picked and, when rederiving, all source
--   events); syncs_history_write.sql writes core.syncs_history.
-- Source: PRODUCT_SYNC_* and COLLECTION_SYNC_* topics (and new <X>_SYNC_* names: sync_type X,
-- from the topic: the body does not say). The sync schema is unconfirmed upstream (id,
-- merchant_id, status, dates): the typed columns read what is documented, the whole payload is
-- kept.
create or replace temp macro entity_versions(events, orders) as table
    select
        e.entity_id as id,
        e.date_last_modified,
        e.received_at,
        e.event_key,
        e.topic as last_topic,
        split_part(e.topic, '_SYNC_', 1) as sync_type,
        violet_int(e.payload, '$.merchant_id') as merchant_id,
        e.payload ->> '$.status' as status,
        violet_int(e.payload, '$.total_products') as total_products,
        violet_int(e.payload, '$.total_collections') as total_collections,
        violet_ts(e.payload ->> '$.date_created') as date_created,
    from query_table(events) as e
    where e.entity = 'sync';
